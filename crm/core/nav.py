"""The navigation bar: which areas each role sees."""

from flask import current_app, g, request, url_for
from flask_login import current_user

from crm.accounts.access import (
    ALLIANCE_ADMINS,
    ALLIANCE_ROLES,
    CLUSTER_MANAGERS,
    STAFF,
    TENANT_ADMINS,
    TENANT_ROLES,
)

# (label, endpoint, roles). Entries whose endpoint is not registered are left out.
NAV = [
    ("Dashboard", "members.dashboard", STAFF),
    ("Members", "members.directory", STAFF),
    ("Contacts", "contacts.index", TENANT_ROLES),
    ("Segments", "segments.index", STAFF),
    ("Renewals", "renewals.index", STAFF),
    ("Duplicates", "merge.report", STAFF),
    ("Projects", "projects.index", STAFF),
    ("CORDIS", "cordis.index", STAFF),
    ("My cluster", "projects.my_cluster", CLUSTER_MANAGERS),
    ("Alliance partners", "profiles.index", TENANT_ROLES),
    ("Partner requests", "partner_requests.index", TENANT_ROLES),
    ("Notifications", "partner_requests.notifications", TENANT_ROLES),
    ("Mailings", "mailings.index", STAFF),
    ("Import", "imports.index", STAFF),
    ("Figures", "metrics.tenant_report", STAFF),
    ("Users", "accounts.users", TENANT_ADMINS),
    ("Audit log", "accounts.audit_log", TENANT_ADMINS),
    ("Outbox", "mail.outbox", TENANT_ADMINS),
    ("Mail settings", "mail.settings", TENANT_ADMINS),
    ("Alliance figures", "alliance.dashboard", ALLIANCE_ROLES),
    ("Associations", "tenants_admin.index", ALLIANCE_ADMINS),
    ("CORDIS data", "alliance.cordis", ALLIANCE_ADMINS),
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
                    "badge": BADGES[endpoint]() if endpoint in BADGES else 0,
                }
            )
    return items


def _unread_notifications() -> int:
    from crm.partner_requests.queries import unread_count

    return unread_count(current_user)


# A count shown beside an entry (one statement each, only for who sees the entry).
BADGES = {"partner_requests.notifications": _unread_notifications}
