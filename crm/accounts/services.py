"""Account verbs. They flush, never commit; the view commits once."""

from __future__ import annotations

import hashlib
import secrets

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select

from crm import audit, tenancy
from crm.accounts import definer
from crm.accounts.passwords import hash_password, verify_password
from crm.i18n import _
from crm.links import external_url
from crm.models import Organisation, Tenant, User
from crm.models.base import utcnow
from crm.models.user import ALLIANCE_ROLES, ROLES, TENANT_ROLES
from crm.validation import RuleError

MIN_PASSWORD_LENGTH = 12
RESET_LINK_MAX_AGE = 24 * 3600
# An invitation waits longer: a new user may be away for a few days.
INVITATION_LINK_MAX_AGE = 7 * 24 * 3600


def link_max_age(kind: str) -> int | None:
    """Seconds a link of ``kind`` works (None: no such kind)."""
    return {"reset": RESET_LINK_MAX_AGE, "invitation": INVITATION_LINK_MAX_AGE}.get(kind)


class AccountError(RuleError):
    """A request the account rules refuse."""


def _enter_scope_of(session, wall: definer.UserWall | None) -> User | None:
    """Make the user's own scope (their tenant, or the alliance's) the current one
    and read their row in it, under row-level security; no user: no scope."""
    tenancy.activate(session, tenancy.scope_of_user(wall.tenant_id) if wall else None)
    return session.get(User, wall.id) if wall else None


def find_user_by_email(session, email: str) -> User | None:
    """The user with this e-mail; their scope becomes the current one (sign-in)."""
    return _enter_scope_of(session, definer.user_by_email(session, email))


# Sessions from before the identity named the tenant: their user is looked up first.
_LOOK_UP = object()


def signed_in_user(session, user_id: int, tenant_id: int | None | object = _LOOK_UP):
    """The user a session names; their scope becomes the request's (session loader).

    ``tenant_id`` is the tenant the identity names (None: the alliance): the row is
    read in that scope at once, and must belong there."""
    if tenant_id is _LOOK_UP:
        return _enter_scope_of(session, definer.user_by_id(session, user_id))
    user = _enter_scope_of(session, definer.UserWall(user_id, tenant_id))
    return user if user is not None and user.tenant_id == tenant_id else None


def authenticate(session, email: str, password: str) -> User | None:
    """The active user with these credentials, else None; either way the attempt is audited.

    The events belong to the user's tenant, or the alliance log for alliance users
    and unknown addresses (RLS checks that on PostgreSQL)."""
    user = find_user_by_email(session, email)
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or not user.active:
        _record_login_refusal(session, "login_failed", email, user)
        return None
    user.last_login_at = utcnow()
    _user_event(session, "login", user, None, actor=user)
    return user


def record_throttled_login(session, email: str) -> None:
    """Audit a refused attempt; the password is not even looked at."""
    user = find_user_by_email(session, email)
    _record_login_refusal(session, "login_throttled", email, user)


def _record_login_refusal(session, action: str, email: str, user: User | None) -> None:
    summary = f"{action.replace('_', ' ')} for {email.strip().lower()[:200]}"
    _user_event(session, action, user, summary, actor=user)


def _user_event(session, action, user: User | None, summary, actor: User | None = None) -> None:
    """A non-row event about ``user``, in the log of the current scope: the user's
    association, or the alliance log when the alliance office acts (RLS checks it)."""
    audit.record(
        session,
        action,
        tenant_id=tenancy.current_tenant_id(),
        entity_type="users",
        entity_id=user.id if user else None,
        summary=summary,
        user_id=actor.id if actor else None,
    )


def check_new_password(user_email: str, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            _("Use at least %(num)s characters.", num=MIN_PASSWORD_LENGTH), "new_password"
        )
    if password.strip().lower() == user_email.strip().lower():
        raise AccountError(_("The password cannot be your e-mail address."), "new_password")


def set_password(session, user: User, new_password: str) -> None:
    """Set a new password and end every existing session of the user."""
    check_new_password(user.email, new_password)
    user.password_hash = hash_password(new_password)
    end_sessions(session, user)  # audited as password_change by the audit hook


def end_sessions(session, user: User) -> None:
    """Every session and remember-me cookie of ``user`` stops working (sign-out,
    password change, deactivation): both carry the session version."""
    user.session_version = (user.session_version or 1) + 1
    session.flush()


def change_password(session, user: User, current_password: str, new_password: str) -> None:
    """The user changes their own password; assumes ``user`` is the signed-in user."""
    if not verify_password(user.password_hash, current_password):
        raise AccountError(_("This is not your current password."), "current_password")
    set_password(session, user, new_password)


def set_language(session, user: User, language: str | None) -> None:
    """The interface language ``user`` chose (None: the association's)."""
    user.language = language
    session.flush()


# --- one-time reset links -------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def _password_fingerprint(user: User) -> str:
    # The link names the current hash and session version, so it stops working
    # once used (both change) or once the user changes the password themselves.
    raw = f"{user.password_hash}:{user.session_version}".encode()
    return hashlib.sha256(raw).hexdigest()[:32]


def issue_reset_token(session, user: User, kind: str = "reset") -> str:
    """A signed, single-use token for ``user``: a password reset, or an
    ``invitation`` (longer lived); the caller checked who may issue it."""
    action, what = {
        "reset": ("reset_link_issued", "password link"),
        "invitation": ("invitation_issued", "invitation"),
    }[kind]
    _user_event(session, action, user, f"{what} issued for {user.email}")
    return _serializer().dumps({"u": user.id, "f": _password_fingerprint(user), "k": kind})


def reset_link(token: str) -> str:
    """The link to hand over: at BASE_URL, whatever Host the request named."""
    return external_url("accounts.reset_password", token=token)


def user_for_reset_token(session, token: str) -> User | None:
    """The user a valid, unused, unexpired token is for, else None."""
    try:
        data, signed_at = _serializer().loads(
            token, max_age=max(RESET_LINK_MAX_AGE, INVITATION_LINK_MAX_AGE), return_timestamp=True
        )
    except BadSignature:  # also covers SignatureExpired
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    # Links from before invitations existed name no kind: they are resets.
    max_age = link_max_age(data.get("k", "reset"))
    if max_age is None or (utcnow() - signed_at).total_seconds() > max_age:
        return None
    user = _enter_scope_of(session, definer.user_by_id(session, data["u"]))
    if user is None or not user.active or data.get("f") != _password_fingerprint(user):
        return None
    return user


# --- users of a tenant ----------------------------------------------------


def tenant_cluster(session, tenant_id: int, cluster_id: int | None) -> Organisation | None:
    """The cluster organisation ``cluster_id`` of this tenant, through the tenant scope,
    so an id from another tenant is simply not found."""
    if cluster_id is None:
        return None
    with tenancy.tenant_scope(tenant_id):
        return session.scalar(
            select(Organisation).where(
                Organisation.id == cluster_id, Organisation.kind == "cluster"
            )
        )


def _check_role(role: str, tenant_id: int | None, cluster: Organisation | None, cluster_id):
    if role not in ROLES:
        raise AccountError(_("Unknown role %(role)s.", role=role), "role")
    if role in ALLIANCE_ROLES and tenant_id is not None:
        raise AccountError(_("Alliance roles do not belong to an association."), "role")
    if role in TENANT_ROLES and tenant_id is None:
        raise AccountError(_("This role needs an association."), "role")
    if role == "cluster_manager" and cluster is None:
        if cluster_id is None:
            raise AccountError(_("A cluster manager needs a cluster."), "cluster_id")
        raise AccountError(_("Choose a cluster of this association."), "cluster_id")
    if role != "cluster_manager" and cluster_id is not None:
        raise AccountError(_("Only cluster managers are bound to a cluster."), "cluster_id")


def create_user(
    session, *, email, password=None, name, role, tenant_id=None, cluster_id=None
) -> User:
    """Create a user after checking role, tenant and cluster fit together.

    Assumes the caller may create users for ``tenant_id``. Without a password the
    account gets an unusable random one and is set up through a reset link.
    """
    email = email.strip()
    # Asked past the wall: the address may be taken in another association.
    if definer.user_by_email(session, email) is not None:
        raise AccountError(_("A user with this e-mail address already exists."), "email")
    cluster = tenant_cluster(session, tenant_id, cluster_id) if tenant_id else None
    _check_role(role, tenant_id, cluster, cluster_id)
    if password is not None:
        check_new_password(email, password)
    with tenancy.tenant_scope(tenancy.scope_of_user(tenant_id)):  # RLS: the user's own scope
        return _add_user(session, email, password, name, role, tenant_id, cluster)


def _add_user(session, email, password, name, role, tenant_id, cluster) -> User:
    user = User(
        email=email,
        password_hash=hash_password(password or secrets.token_urlsafe(32)),
        name=name.strip(),
        role=role,
        tenant_id=tenant_id,
        cluster_id=cluster.id if cluster else None,
        active=True,
        session_version=1,
    )
    session.add(user)
    session.flush()
    return user


def _other_active_admins(session, user: User) -> int:
    return session.scalar(
        select(func.count(User.id)).where(
            User.tenant_id == user.tenant_id,
            User.role == "tenant_admin",
            User.active.is_(True),
            User.id != user.id,
        )
    )


def _keep_an_admin(session, user: User, new_role: str, staying_active: bool) -> None:
    loses_admin = user.role == "tenant_admin" and user.active
    loses_admin = loses_admin and (new_role != "tenant_admin" or not staying_active)
    if loses_admin and _other_active_admins(session, user) == 0:
        raise AccountError(
            _(
                "This is the association's last active administrator; "
                "make someone else administrator first."
            ),
            "role",
        )


def update_user(session, user: User, *, name: str, role: str, cluster_id: int | None) -> None:
    """Change a tenant user's name, role and cluster.

    Assumes the caller is a tenant admin of ``user``'s tenant. A role change
    does not end the user's sessions: permissions are read per request.
    """
    cluster = tenant_cluster(session, user.tenant_id, cluster_id)
    _check_role(role, user.tenant_id, cluster, cluster_id)
    _keep_an_admin(session, user, role, staying_active=True)
    user.name = name.strip()
    user.role = role
    user.cluster_id = cluster.id if cluster else None
    session.flush()


def deactivate_user(session, user: User) -> None:
    """Lock the user out, ending their sessions; assumes a tenant admin of their tenant."""
    _keep_an_admin(session, user, user.role, staying_active=False)
    user.active = False
    end_sessions(session, user)
    _user_event(session, "user_deactivated", user, f"{user.email} deactivated")


def reactivate_user(session, user: User) -> None:
    user.active = True
    session.flush()


def create_tenant(session, *, slug: str, name: str, country: str) -> Tenant:
    """A new association; assumes an alliance admin or an operator.

    The app role cannot write ``tenants``: the row is added by the database's
    ``create_tenant`` function, in the alliance scope, and audited here in the
    alliance log (the ORM's audit hook does not see it).
    """
    slug = slug.strip().lower()
    if session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
        raise AccountError(_("This short name is taken."), "slug")
    values = {"slug": slug, "name": name.strip(), "country": country.strip().upper()}
    with tenancy.alliance_scope():
        tenant = definer.insert_tenant(session, **values)
        audit.record(
            session, "create", tenant_id=None, entity_type="tenants", entity_id=tenant.id,
            changes=values,
        )  # fmt: skip
        session.flush()  # the alliance log is writable in this scope only
    return tenant
