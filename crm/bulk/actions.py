"""Carrying out a bulk action over a list of ids, in the request or in a job.

Tags: set-based (``crm.tags.services``: an INSERT ... SELECT for the links and
one for their audit events), per chunk of ids. Status changes go through the
membership lifecycle service one organisation at a time, each in a savepoint,
so its rules hold and a refused change (the same status, an archived
organisation, an external partner) is reported with its reason, not raised.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import select

from crm import audit
from crm.members import services as members
from crm.models import Organisation, Tag
from crm.tags import services as tags
from crm.validation import RuleError

CHUNK = 2000  # ids per statement (and per progress step)
REFUSALS_KEPT = 50  # refusals listed in the result; all are counted


def _chunks(ids: list[int], size: int = CHUNK):
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def apply(
    session,
    tenant_id: int,
    user_id: int | None,
    source: str,
    action: str,
    params: dict,
    ids: list[int],
    *,
    progress: Callable[[int, int], None] | None = None,
    commit_each_chunk: bool = False,
) -> dict:
    """Apply ``action`` to the rows ``ids`` of ``source`` (members | contacts)."""
    kind = "organisations" if source == "members" else "contacts"
    done, changed, refused = 0, 0, []
    for chunk in _chunks(ids):
        if action in ("tag", "untag"):
            tag = session.scalar(select(Tag).where(Tag.id == params["tag_id"]))
            write = tags.tag_rows if action == "tag" else tags.untag_rows
            changed += write(
                session, tenant_id, tag, kind, tags.ids_of(tenant_id, kind, chunk), user_id=user_id
            )
        elif action == "status":
            c, r = _change_statuses(session, tenant_id, user_id, chunk, params)
            changed += c
            refused += r
        done += len(chunk)
        if commit_each_chunk:
            session.commit()
        if progress is not None:
            progress(done, len(ids))
    result = {
        "action": action,
        "source": source,
        "total": len(ids),
        "changed": changed,
        "refused_count": len(refused),
        "refused": refused[:REFUSALS_KEPT],
    }
    audit.record(
        session,
        f"bulk_{action}",
        tenant_id=tenant_id,
        entity_type=kind,
        summary=_summary(result, params),
        changes={k: v for k, v in result.items() if k != "refused"},
        user_id=user_id,
    )
    session.flush()
    return result


def _summary(result: dict, params: dict) -> str:
    what = {
        "tag": f"tagged “{params.get('tag_name')}”",
        "untag": f"untagged “{params.get('tag_name')}”",
        "status": f"membership set to {params.get('status')}",
    }.get(result["action"], result["action"])
    return f"Bulk: {result['changed']:,} of {result['total']:,} {what}"[:300]


def _change_statuses(session, tenant_id, user_id, ids, params) -> tuple[int, list[dict]]:
    orgs = session.scalars(select(Organisation).where(Organisation.id.in_(ids))).all()
    effective_on = date.fromisoformat(params["effective_on"])
    changed, refused = 0, []
    for org in orgs:
        try:
            with session.begin_nested():
                members.change_membership_status(
                    session,
                    tenant_id,
                    org,
                    params["status"],
                    effective_on=effective_on,
                    reason=params["reason"],
                    user_id=user_id,
                )
            changed += 1
        except RuleError as error:
            refused.append({"id": org.id, "name": org.name, "reason": str(error)})
    return changed, refused
