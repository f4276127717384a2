"""People at member organisations, with their GDPR consent."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Computed,
    Date,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.i18n import _l
from crm.models.base import Base, TenantOwned, Timestamps, Versioned, same_tenant_fk
from crm.models.organisation import Organisation

CONSENT_SOURCES = {
    "form": _l("Membership form"),
    "event": _l("Event registration"),
    "email": _l("E-mail"),
    "contract": _l("Contract"),
    "import": _l("Imported"),
    "other": _l("Other"),
}
# What a person does at their organisation, as a fixed list the directory and
# the contacts list filter on (``job_title`` stays free text).
CONTACT_ROLES = {
    "management": _l("Management (CEO, director)"),
    "cluster_management": _l("Cluster management"),
    "research": _l("Research and innovation"),
    "technology_transfer": _l("Technology transfer"),
    "business": _l("Sales and business development"),
    "policy": _l("Public policy"),
    "finance": _l("Finance and investment"),
    "other": _l("Other"),
}
# What people type about a contact (forms and imports).
CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "job_title",
    "is_primary",
    "consent_given",
    "consent_date",
    "consent_source",
)


class Contact(TenantOwned, Versioned, Timestamps, Base):
    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        same_tenant_fk(["organisation_id"], "organisations", ondelete="CASCADE"),
        Index("ix_contacts_tenant_organisation", "tenant_id", "organisation_id"),
        Index("ix_contacts_tenant_email", "tenant_id", "email"),
        # "Organisations with a contact of this role" (an EXISTS per organisation).
        Index("ix_contacts_tenant_role", "tenant_id", "role", "organisation_id"),
        # The contacts list's default order and its total, read from the index
        # alone (PostgreSQL: INCLUDE); erased contacts are never listed.
        Index(
            "ix_contacts_tenant_name",
            "tenant_id",
            "last_name",
            "first_name",
            "id",
            postgresql_include=["organisation_id", "role", "email", "search_name"],
            postgresql_where=text("erased_at IS NULL"),
            sqlite_where=text("erased_at IS NULL"),
        ),
        # One primary contact per organisation.
        Index(
            "uq_contacts_one_primary",
            "tenant_id",
            "organisation_id",
            unique=True,
            sqlite_where=text("is_primary"),
            postgresql_where=text("is_primary"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(Integer)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    job_title: Mapped[str | None] = mapped_column(String(120))
    role: Mapped[str | None] = mapped_column(String(30))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_given: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_date: Mapped[date | None] = mapped_column(Date)
    consent_source: Mapped[str | None] = mapped_column(String(20))
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # "first last" folded for the accent-free search (``crm.folding``; migration 0029).
    search_name: Mapped[str | None] = mapped_column(
        Text, Computed("crm_fold(first_name || ' ' || last_name)"), deferred=True
    )

    organisation: Mapped[Organisation] = relationship(
        back_populates="contacts",
        primaryjoin="and_(foreign(Contact.tenant_id) == Organisation.tenant_id, "
        "foreign(Contact.organisation_id) == Organisation.id)",
        viewonly=True,
    )

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
