"""The navigation bar: which areas each role sees."""

from flask import current_app, request, url_for
from flask_login import current_user

# (label, endpoint, roles). Entries whose endpoint is not registered are left out.
NAV = [
    ("Dashboard", "members.dashboard", {"tenant_admin", "secretariat"}),
    ("Members", "members.directory", {"tenant_admin", "secretariat"}),
    ("Membership", "members.renewals", {"tenant_admin", "secretariat"}),
    ("Projects", "projects.index", {"tenant_admin", "secretariat"}),
    ("My cluster", "projects.my_cluster", {"cluster_manager"}),
    ("Import", "imports.index", {"tenant_admin", "secretariat"}),
    ("Figures", "metrics.tenant_report", {"tenant_admin", "secretariat"}),
    ("Users", "accounts.users", {"tenant_admin"}),
    ("Audit log", "accounts.audit_log", {"tenant_admin"}),
    ("Alliance figures", "alliance.dashboard", {"alliance_admin", "alliance_analyst"}),
    ("Associations", "alliance.tenants", {"alliance_admin"}),
]


def has_endpoint(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


def nav_items() -> list[dict]:
    if not current_user.is_authenticated:
        return []
    items = []
    for label, endpoint, roles in NAV:
        if current_user.role in roles and has_endpoint(endpoint):
            items.append(
                {"label": label, "url": url_for(endpoint), "active": request.endpoint == endpoint}
            )
    return items
