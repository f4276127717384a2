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
from crm.i18n import _l

# (label, endpoint, roles). Entries whose endpoint is not registered are left out.
NAV = [
    (_l("Dashboard"), "members.dashboard", STAFF),
    (_l("Members"), "members.directory", STAFF),
    (_l("Contacts"), "contacts.index", TENANT_ROLES),
    (_l("Segments"), "segments.index", STAFF),
    (_l("Renewals"), "renewals.index", STAFF),
    (_l("Duplicates"), "merge.report", STAFF),
    (_l("Projects"), "projects.index", STAFF),
    ("CORDIS", "cordis.index", STAFF),
    (_l("My cluster"), "projects.my_cluster", CLUSTER_MANAGERS),
    (_l("Alliance partners"), "profiles.index", TENANT_ROLES),
    (_l("Partner requests"), "partner_requests.index", TENANT_ROLES),
    (_l("Notifications"), "partner_requests.notifications", TENANT_ROLES),
    (_l("Mailings"), "mailings.index", STAFF),
    (_l("Import"), "imports.index", STAFF),
    (_l("Figures"), "metrics.tenant_report", STAFF),
    (_l("Users"), "accounts.users", TENANT_ADMINS),
    (_l("Audit log"), "accounts.audit_log", TENANT_ADMINS),
    (_l("Outbox"), "mail.outbox", TENANT_ADMINS),
    (_l("Mail settings"), "mail.settings", TENANT_ADMINS),
    (_l("Alliance figures"), "alliance.dashboard", ALLIANCE_ROLES),
    (_l("Associations"), "tenants_admin.index", ALLIANCE_ADMINS),
    (_l("CORDIS data"), "alliance.cordis", ALLIANCE_ADMINS),
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
                    "label": str(label),
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
