"""The bulk action job (kind "bulk"): ids in, the rows chosen again from the
same selection, progress per chunk, the outcome on the run's result."""

from __future__ import annotations

from sqlalchemy import Select

from crm.bulk import actions
from crm.extensions import db
from crm.jobs import run_progress
from crm.segments import queries as segments
from crm.tags import services as tags

KIND = "bulk"


def selection(tenant_id: int, source: str, spec: dict) -> Select:
    """The SELECT of ids a bulk action works on: ``{"filters": {...}}`` (all rows
    matching the list's filters; a segment opens its list with its filters) or
    ``{"ids": [...]}`` (ticked rows)."""
    kind = "organisations" if source == "members" else "contacts"
    if "ids" in spec:
        return tags.ids_of(tenant_id, kind, spec["ids"])
    if kind == "organisations":
        return segments.organisation_ids(tenant_id, spec["filters"], source)
    return segments.contact_ids(tenant_id, spec["filters"], source)


def run_bulk(
    tenant_id: int, user_id: int | None, source: str, action: str, params: dict, spec: dict, run_id
) -> dict:
    """Run again (a retry), tagging changes nothing more; status changes already
    made are reported as refused ("already …")."""
    ids = list(db.session.scalars(selection(tenant_id, source, spec)))

    def progress(done: int, total: int) -> None:
        run_progress(run_id, 99 * done // max(total, 1), f"{done:,} of {total:,} rows")

    result = actions.apply(
        db.session,
        tenant_id,
        user_id,
        source,
        action,
        params,
        ids,
        progress=progress,
        commit_each_chunk=True,
    )
    db.session.commit()
    return result
