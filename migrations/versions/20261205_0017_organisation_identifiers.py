"""Organisation identifiers (LEI, ROR; PIC since 0011) and the VAT number's index.

The national registry number (``registration_id``) and the VAT number
(``vat_id``) exist since 0001; their checks moved to python-stdnum
(``crm.identifiers``), which needs no schema change.

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTERs, not batch mode: SQLite cannot reflect the expression indexes of 0004.
def upgrade() -> None:
    op.add_column("organisations", sa.Column("lei", sa.String(length=20), nullable=True))
    op.add_column("organisations", sa.Column("ror", sa.String(length=9), nullable=True))
    # Reconciliation with CORDIS matches by VAT number after the PIC.
    op.create_index("ix_organisations_tenant_vat", "organisations", ["tenant_id", "vat_id"])


def downgrade() -> None:
    op.drop_index("ix_organisations_tenant_vat", table_name="organisations")
    for column in ("ror", "lei"):
        op.drop_column("organisations", column)
