"""Reference data: the 14 industrial ecosystems, 7 recovery flagship areas, programmes.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# EU industrial strategy, 2021 update.
ECOSYSTEMS = [
    (1, "aerospace_defence", "Aerospace & Defence"),
    (2, "agri_food", "Agri-food"),
    (3, "construction", "Construction"),
    (4, "cultural_creative", "Cultural & Creative Industries"),
    (5, "digital", "Digital"),
    (6, "electronics", "Electronics"),
    (7, "energy_intensive", "Energy-Intensive Industries"),
    (8, "renewables", "Energy – Renewables"),
    (9, "health", "Health"),
    (10, "mobility", "Mobility – Transport – Automotive"),
    (11, "proximity", "Proximity, Social Economy & Civil Security"),
    (12, "retail", "Retail"),
    (13, "textiles", "Textiles"),
    (14, "tourism", "Tourism"),
]

# Recovery and Resilience Facility flagship areas.
FLAGSHIPS = [
    (1, "power_up", "Power up (clean technologies, renewables)"),
    (2, "renovate", "Renovate (energy efficiency of buildings)"),
    (3, "recharge_refuel", "Recharge and refuel (sustainable transport, charging stations)"),
    (4, "connect", "Connect (fast broadband)"),
    (5, "modernise", "Modernise (digital public administration)"),
    (6, "scale_up", "Scale-up (data cloud, processors)"),
    (7, "reskill_upskill", "Reskill and upskill (digital skills, education and training)"),
]

PROGRAMMES = [
    ("HE", "Horizon Europe"),
    ("H2020", "Horizon 2020"),
    ("EIC", "European Innovation Council"),
    ("EUROSTARS", "Eurostars"),
    ("SMP", "Single Market Programme"),
    ("COSME", "COSME"),
    ("DIGITAL", "Digital Europe"),
    ("ERDF", "European Regional Development Fund"),
    ("INTERREG", "Interreg"),
    ("I3", "Interregional Innovation Investments"),
    ("LIFE", "LIFE programme"),
    ("ESF", "European Social Fund+"),
    ("ERASMUS", "Erasmus+"),
    ("RRF", "National recovery and resilience plan"),
    ("NATIONAL", "National programme"),
    ("REGIONAL", "Regional programme"),
    ("OTHER", "Other"),
]


def _table(name, *columns):
    return sa.table(name, *(sa.column(c) for c in columns))


def upgrade() -> None:
    op.bulk_insert(
        _table("ecosystems", "id", "code", "name"),
        [{"id": i, "code": c, "name": n} for i, c, n in ECOSYSTEMS],
    )
    op.bulk_insert(
        _table("flagship_areas", "id", "code", "name"),
        [{"id": i, "code": c, "name": n} for i, c, n in FLAGSHIPS],
    )
    op.bulk_insert(
        _table("programmes", "code", "name"), [{"code": c, "name": n} for c, n in PROGRAMMES]
    )


def downgrade() -> None:
    for name in ("programmes", "flagship_areas", "ecosystems"):
        op.execute(sa.text(f"DELETE FROM {name}"))
