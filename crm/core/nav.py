"""The navigation bar: which areas each role sees."""

from flask import current_app, g, request, url_for
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
    ("Associations", "tenants_admin.index", {"alliance_admin"}),
]


def has_endpoint(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


def nav_items() -> list[dict]:
    if not current_user.is_authenticated:
        return []
    from crm.core.views import user_tenant_slug

    # Error pages (a foreign slug, say) render before g.tenant is set, so the
    # tenant in the links comes from the user, not from the URL.
    tenant = g.tenant.slug if g.get("tenant") else user_tenant_slug(current_user)
    items = []
    for label, endpoint, roles in NAV:
        if current_user.role in roles and has_endpoint(endpoint):
            args = {}
            if current_app.url_map.is_endpoint_expecting(endpoint, "tenant"):
                if tenant is None:
                    continue
                args["tenant"] = tenant
            items.append(
                {
                    "label": label,
                    "url": url_for(endpoint, **args),
                    "active": request.endpoint == endpoint,
                }
            )
    return items
