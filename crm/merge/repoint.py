"""Moving every row that refers to one row onto another, read from the schema.

``repoint(session, tenant_id, table, old_id, new_id)`` finds every foreign key
that refers to ``table`` in the SQLAlchemy metadata, so a table added later
(notes, tags, payments...) is covered without a change here. Where moving a row
would break a unique constraint (both organisations in the same cluster, in the
same project, with the same ecosystem), the survivor's row is kept: it takes
the values it lacks from the other row (``COMBINE`` says where "lacks" is not
just "is empty"), the rows referring to the other row are moved onto it
(the same procedure, one level down: a membership's history), and the other
row is deleted. A row that would then refer to the survivor twice (a cluster
membership between the two) is deleted. A partial unique index needs a rule
of its own (``PARTIAL_UNIQUE``); one without a rule stops the merge.

Every statement names the tenant (these are Core statements, which the ORM's
automatic scoping does not reach), and on PostgreSQL row-level security
applies to them all the same.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import Column, Index, Table, and_, delete, select, text, tuple_, update

from crm.models import Base
from crm.validation import RuleError

# Partial unique indexes on a referring column: the values set on the other
# organisation's rows that the index would refuse next to the survivor's.
PARTIAL_UNIQUE: dict[str, dict] = {
    # One primary contact: the survivor's stays primary, the other's is demoted.
    "uq_contacts_one_primary": {"is_primary": False},
}
# (table, column) -> how two rows' values combine when the survivor's row is kept.
COMBINE = {
    ("association_memberships", "joined_on"): min,
    ("association_memberships", "paid_until"): max,
    ("cluster_memberships", "since"): min,
    # Both in one project: the project keeps its coordinator.
    ("participations", "role"): lambda old, new: old if old == "coordinator" else new,
}
# Columns that describe the row itself, never copied from the other row.
_OWN = {"id", "tenant_id", "version", "created_at", "updated_at"}


class MergeError(RuleError):
    """The merge cannot be done (the message says why)."""


@dataclass(frozen=True)
class Reference:
    """A column of ``table`` that refers to the target table's id."""

    table: Table
    column: Column

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.column.name}"


def references_to(target: Table) -> list[Reference]:
    """Every column that refers to ``target``'s id, from the metadata."""
    found = []
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_key_constraints:
            if fk.referred_table is not target:
                continue
            for element in fk.elements:
                if element.column.name == "id":
                    found.append(Reference(table, element.parent))
    return found


def unique_sets(table: Table) -> list[tuple[str, list[Column], object | None]]:
    """(name, columns, partial condition or None) of each unique rule of ``table``."""
    rules = [(table.primary_key.name, list(table.primary_key.columns), None)]
    for constraint in table.constraints:
        if constraint.__class__.__name__ == "UniqueConstraint":
            rules.append((constraint.name, list(constraint.columns), None))
    for index in table.indexes:
        if isinstance(index, Index) and index.unique:
            where = index.dialect_options["postgresql"].get("where")
            if where is None:
                where = index.dialect_options["sqlite"].get("where")
            columns = [c for c in index.expressions if isinstance(c, Column)]
            rules.append((index.name, columns, where))
    return rules


def _where_tenant(table: Table, tenant_id: int):
    return table.c.tenant_id == tenant_id if "tenant_id" in table.c else and_(True)


def repoint(session, tenant_id: int, target: Table, old_id: int, new_id: int) -> Counter:
    """Move every row referring to ``target`` row ``old_id`` onto ``new_id``; the
    moved, merged and dropped rows per ``table.column`` (the caller's flush and
    commit come later: these statements run at once)."""
    moved: Counter = Counter()
    for ref in references_to(target):
        table, column = ref.table, ref.column
        scope = _where_tenant(table, tenant_id)
        _drop_self_links(session, target, ref, scope, old_id, new_id, moved)
        for name, columns, where in unique_sets(table):
            if column not in columns:
                continue
            if where is not None:
                _settle_partial(session, ref, scope, name, where, old_id, new_id, moved)
            else:
                others = [c for c in columns if c is not column]
                _settle_collisions(session, tenant_id, ref, scope, others, old_id, new_id, moved)
        values = {column.name: new_id}
        if "version" in table.c:  # an open form of a moved row is now out of date
            values["version"] = table.c.version + 1
        result = session.execute(update(table).where(scope, column == old_id).values(values))
        moved[f"{ref.name} moved"] += result.rowcount
    return moved


def _drop_self_links(session, target, ref, scope, old_id, new_id, moved) -> None:
    """Rows that would refer to the survivor from two columns (a cluster membership
    between the two organisations) make no sense once they are one: deleted."""
    for other in references_to(target):
        if other.table is ref.table and other.column is not ref.column:
            result = session.execute(
                delete(ref.table).where(scope, ref.column == old_id, other.column == new_id)
            )
            moved[f"{ref.name} dropped (linked the two)"] += result.rowcount


def _settle_partial(session, ref, scope, name, where, old_id, new_id, moved) -> None:
    rule = PARTIAL_UNIQUE.get(name)
    if rule is None:
        raise MergeError(
            f"These organisations cannot be merged yet: {name} has no merge rule "
            "(crm.merge.repoint.PARTIAL_UNIQUE)."
        )
    condition = text(str(where))
    survivor_has = session.execute(
        select(ref.table.c[ref.column.name]).where(scope, ref.column == new_id, condition).limit(1)
    ).first()
    if survivor_has is None:
        return
    result = session.execute(
        update(ref.table).where(scope, ref.column == old_id, condition).values(rule)
    )
    moved[f"{ref.name} changed ({name})"] += result.rowcount


def _settle_collisions(session, tenant_id, ref, scope, others, old_id, new_id, moved) -> None:
    """Rows of ``old_id`` that would collide with a row of ``new_id`` on ``others``."""
    table = ref.table
    key = tuple_(*others) if len(others) > 1 else others[0]
    survivor_keys = select(*others).where(scope, ref.column == new_id)
    has_id = "id" in table.c and list(table.primary_key.columns) == [table.c.id]
    colliding = select(table.c.id, *others) if has_id else select(*others)
    rows = session.execute(
        colliding.where(scope, ref.column == old_id, key.in_(survivor_keys))
    ).all()
    if not rows:
        return
    if not has_id:  # a plain link table: the survivor already has the link
        session.execute(delete(table).where(scope, ref.column == old_id, key.in_(survivor_keys)))
        moved[f"{ref.name} merged"] += len(rows)
        return
    for row in rows:
        match = [c == row._mapping[c.name] for c in others]
        kept = session.scalar(select(table.c.id).where(scope, ref.column == new_id, *match))
        merge_rows(session, tenant_id, table, row.id, kept, skip={ref.column.name})
        moved[f"{ref.name} merged"] += 1


def merge_rows(session, tenant_id: int, table: Table, old_id: int, new_id: int, skip=()) -> None:
    """Fold row ``old_id`` of ``table`` into row ``new_id``: the kept row takes the
    values it lacks, rows referring to the other move onto it, the other goes."""
    scope = _where_tenant(table, tenant_id)
    old, new = (
        session.execute(select(table).where(scope, table.c.id == i)).one()._mapping
        for i in (old_id, new_id)
    )
    values = {}
    for column in table.c:
        name = column.name
        if name in _OWN or name in skip or old[name] is None:
            continue
        combine = COMBINE.get((table.name, name))
        if new[name] is None:
            values[name] = old[name]
        elif combine is not None and combine(old[name], new[name]) != new[name]:
            values[name] = combine(old[name], new[name])
    repoint(session, tenant_id, table, old_id, new_id)
    session.execute(delete(table).where(scope, table.c.id == old_id))
    if values:
        if "version" in table.c:
            values["version"] = table.c.version + 1
        session.execute(update(table).where(scope, table.c.id == new_id).values(values))
