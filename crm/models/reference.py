"""Reference lists shared by every tenant, filled by migration."""

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from crm.models.base import Base


class Ecosystem(Base):
    """One of the EU's 14 industrial ecosystems."""

    __tablename__ = "ecosystems"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))


class FlagshipArea(Base):
    """One of the 7 flagship areas of the Recovery and Resilience Facility."""

    __tablename__ = "flagship_areas"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(160))


class Programme(Base):
    """A funding programme, keyed by its short code (HE, ERDF, INTERREG, ...)."""

    __tablename__ = "programmes"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(160))
