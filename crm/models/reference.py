"""Reference lists shared by every tenant, filled by migration."""

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from crm.i18n import _l
from crm.models.base import Base

# The names shown for the reference rows, by code, in the reader's language (the
# rows keep the English name; a code not listed here shows that name).
ECOSYSTEM_LABELS = {
    "aerospace_defence": _l("Aerospace & Defence"),
    "agri_food": _l("Agri-food"),
    "construction": _l("Construction"),
    "cultural_creative": _l("Cultural & Creative Industries"),
    "digital": _l("Digital"),
    "electronics": _l("Electronics"),
    "energy_intensive": _l("Energy-Intensive Industries"),
    "renewables": _l("Energy – Renewables"),
    "health": _l("Health"),
    "mobility": _l("Mobility – Transport – Automotive"),
    "proximity": _l("Proximity, Social Economy & Civil Security"),
    "retail": _l("Retail"),
    "textiles": _l("Textiles"),
    "tourism": _l("Tourism"),
}
FLAGSHIP_LABELS = {
    "power_up": _l("Power up (clean technologies, renewables)"),
    "renovate": _l("Renovate (energy efficiency of buildings)"),
    "recharge_refuel": _l("Recharge and refuel (sustainable transport, charging stations)"),
    "connect": _l("Connect (fast broadband)"),
    "modernise": _l("Modernise (digital public administration)"),
    "scale_up": _l("Scale-up (data cloud, processors)"),
    "reskill_upskill": _l("Reskill and upskill (digital skills, education and training)"),
}
# Programme codes (HE, ERDF, ...) are never translated; their names are.
PROGRAMME_LABELS = {
    "HE": _l("Horizon Europe"),
    "H2020": _l("Horizon 2020"),
    "EIC": _l("European Innovation Council"),
    "EUROSTARS": _l("Eurostars"),
    "SMP": _l("Single Market Programme"),
    "COSME": _l("COSME"),
    "DIGITAL": _l("Digital Europe"),
    "ERDF": _l("European Regional Development Fund"),
    "INTERREG": _l("Interreg"),
    "I3": _l("Interregional Innovation Investments"),
    "LIFE": _l("LIFE programme"),
    "ESF": _l("European Social Fund+"),
    "ERASMUS": _l("Erasmus+"),
    "RRF": _l("National recovery and resilience plan"),
    "NATIONAL": _l("National programme"),
    "REGIONAL": _l("Regional programme"),
    "OTHER": _l("Other"),
}


def ecosystem_label(code: str, name: str) -> str:
    return str(ECOSYSTEM_LABELS.get(code, name))


def flagship_label(code: str, name: str) -> str:
    return str(FLAGSHIP_LABELS.get(code, name))


def programme_label(code: str, name: str) -> str:
    return str(PROGRAMME_LABELS.get(code, name))


class Ecosystem(Base):
    """One of the EU's 14 industrial ecosystems."""

    __tablename__ = "ecosystems"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))

    @property
    def label(self) -> str:
        return ecosystem_label(self.code, self.name)


class FlagshipArea(Base):
    """One of the 7 flagship areas of the Recovery and Resilience Facility."""

    __tablename__ = "flagship_areas"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(160))

    @property
    def label(self) -> str:
        return flagship_label(self.code, self.name)


class Programme(Base):
    """A funding programme, keyed by its short code (HE, ERDF, INTERREG, ...)."""

    __tablename__ = "programmes"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(160))

    @property
    def label(self) -> str:
        return programme_label(self.code, self.name)
