"""Declarative base, naming convention and the mixins every model builds on."""

from datetime import UTC, datetime

from sqlalchemy import DateTime, ForeignKey, ForeignKeyConstraint, Integer, MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

# Stable constraint names, so alembic migrations can name what they change.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class Versioned:
    """Optimistic locking: every UPDATE checks and bumps ``version``.

    A form carries the version the user opened (``crm.conflicts``); a save
    from an older version, or one that loses a race between read and write
    (SQLAlchemy's ``StaleDataError``), shows the conflict page instead of
    overwriting someone else's change.
    """

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")

    @declared_attr.directive
    def __mapper_args__(cls) -> dict:
        return {"version_id_col": cls.__table__.c.version}


class TenantOwned:
    """A row that belongs to exactly one tenant (a national association).

    Queries on these models are scoped to the current tenant automatically
    (``crm.tenancy``) and, on PostgreSQL, by row-level security.
    """

    __tenant_owned__ = True

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:
        return mapped_column(Integer, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)


def same_tenant_fk(columns: list[str], target: str, **kw) -> ForeignKeyConstraint:
    """A composite foreign key ``(tenant_id, col) -> target(tenant_id, id)``.

    The reason this exists: a row can then never point at another tenant's row,
    whatever the application does.
    """
    return ForeignKeyConstraint(
        ["tenant_id", *columns], [f"{target}.tenant_id", f"{target}.id"], **kw
    )
