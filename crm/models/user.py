"""People who log in: the alliance office, tenant admins, secretariats, cluster managers."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from crm.i18n import _l
from crm.models.base import Base, Timestamps, same_tenant_fk

ROLES = {
    "alliance_admin": _l("Alliance administrator"),
    "alliance_analyst": _l("Alliance analyst"),
    "tenant_admin": _l("Association administrator"),
    "secretariat": _l("Secretariat"),
    "cluster_manager": _l("Cluster manager"),
}
# Who may do what is said with these groups (``crm.accounts.access``), never
# with role names written out at the call site.
ALLIANCE_ROLES = ("alliance_admin", "alliance_analyst")
ALLIANCE_ADMINS = ("alliance_admin",)
TENANT_ROLES = ("tenant_admin", "secretariat", "cluster_manager")
TENANT_ADMINS = ("tenant_admin",)
# The association's office: members, projects, imports and figures of the whole tenant.
STAFF = ("tenant_admin", "secretariat")
CLUSTER_MANAGERS = ("cluster_manager",)


class User(UserMixin, Timestamps, Base):
    """Not tenant-scoped like member data: login must find a user by e-mail
    before any tenant is known. Tenant users still carry their tenant, and a
    cluster manager's cluster is a same-tenant composite foreign key."""

    __tablename__ = "users"
    __table_args__ = (
        Index("uq_users_email_lower", text("lower(email)"), unique=True),
        same_tenant_fk(["cluster_id"], "organisations"),
        Index("ix_users_tenant", "tenant_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    tenant_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("tenants.id", ondelete="CASCADE")
    )
    cluster_id: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Bumped on sign-out, password change and deactivation; part of the session
    # and remember-me identity, so every cookie issued before stops working.
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    # What the user has seen of the partner requests' news (the count in the navigation).
    notifications_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The interface language the user chose; empty: the association's (``crm.i18n``).
    language: Mapped[str | None] = mapped_column(String(8))

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return bool(self.active)

    def get_id(self) -> str:
        # The tenant (empty: the alliance) names the scope the session loader
        # reads the row in, behind row-level security, without a lookup first.
        return f"{self.id}:{self.session_version}:{self.tenant_id or ''}"

    @property
    def is_alliance(self) -> bool:
        return self.role in ALLIANCE_ROLES

    @property
    def role_label(self) -> str:
        return str(ROLES.get(self.role, self.role))
