"""Who may open which page: the role check every view is decorated with.

The role groups it is given are defined once, beside the roles, in
``crm.models.user``; rules about single records live with their area
(``crm.projects.access``).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import wraps

from flask import abort, current_app
from flask_login import current_user

from crm.models.user import (
    ALLIANCE_ADMINS,
    ALLIANCE_ROLES,
    CLUSTER_MANAGERS,
    STAFF,
    TENANT_ADMINS,
    TENANT_ROLES,
)

__all__ = [
    "ALLIANCE_ADMINS",
    "ALLIANCE_ROLES",
    "CLUSTER_MANAGERS",
    "STAFF",
    "TENANT_ADMINS",
    "TENANT_ROLES",
    "has_role",
    "roles_required",
]


def has_role(roles: Iterable[str], user=None) -> bool:
    """Whether ``user`` (the signed-in user by default) holds one of ``roles``."""
    user = current_user if user is None else user
    return bool(user.is_authenticated) and user.role in roles


def roles_required(*roles: str):
    """Allow the view to users with one of ``roles``; others get 404 (no existence leak)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if current_user.role not in roles:
                abort(404)
            return view(*args, **kwargs)

        return wrapped

    return decorator
