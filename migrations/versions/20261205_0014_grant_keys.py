"""Grant keys re-keyed: the prefix rule now takes the longest prefix first.

The old rule tried ``GA`` before ``GAP``, so ``GAP-103660601`` keyed as
``P103660601`` and never matched the same grant recorded as ``103660601``.
Every stored project's ``grant_key`` is recomputed from its ``grant_number``
with the rule as of this revision (frozen here: a later change of the
application's normaliser must not change what this migration does). Downgrade
recomputes the keys with the old rule.

PostgreSQL: ``projects`` has FORCE ROW LEVEL SECURITY, which binds the owner
too; the owner lifts FORCE for the re-keying and sets it again, all in the
migration's transaction.

Revision ID: 0014
Revises: 0013
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NEW = re.compile(r"^(GRANT|GAP|GA|NO|NR|N°)[\s.:#-]*", re.IGNORECASE)
_OLD = re.compile(r"^(GA|GAP|GRANT|NO|NR|N°)[\s.:#-]*", re.IGNORECASE)


def _key(raw: str | None, prefix: re.Pattern) -> str | None:
    if not raw:
        return None
    key = prefix.sub("", raw.strip())
    key = prefix.sub("", key)
    key = re.sub(r"[^0-9A-Za-z]", "", key).upper()
    return key or None


def _rekey(prefix: re.Pattern) -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    if postgres:
        op.execute("ALTER TABLE projects NO FORCE ROW LEVEL SECURITY")
    rows = bind.execute(
        sa.text("SELECT id, grant_number, grant_key FROM projects WHERE grant_number IS NOT NULL")
    ).all()
    changed = [
        {"id": row.id, "key": key}
        for row in rows
        if (key := _key(row.grant_number, prefix)) != row.grant_key
    ]
    if changed:
        bind.execute(sa.text("UPDATE projects SET grant_key = :key WHERE id = :id"), changed)
    if postgres:
        op.execute("ALTER TABLE projects FORCE ROW LEVEL SECURITY")


def upgrade() -> None:
    _rekey(_NEW)


def downgrade() -> None:
    _rekey(_OLD)
