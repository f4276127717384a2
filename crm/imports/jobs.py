"""Large imports in the background: the dry run or the commit of one batch, with progress.

Runs on the rq worker when Redis is configured, in-process otherwise
(started by ``crm.jobs.start_run``). Receives ids, loads the batch again in its own
session and tenant scope, and commits once.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from rq import get_current_job

from crm.extensions import db
from crm.formats import number
from crm.i18n import _
from crm.imports import flow
from crm.imports.reading import ImportFileError
from crm.jobs import job_context, run_failed, run_finished, run_progress, run_started
from crm.models import ImportBatch, Tenant
from crm.tenancy import tenant_scope

PHASES = ("dry_run", "commit")


def run_import(batch_id: int, tenant_id: int, phase: str, run_id: int) -> None:
    """Check (``dry_run``) or write (``commit``) import batch ``batch_id`` of ``tenant_id``."""
    if phase not in PHASES:
        raise ValueError(f"unknown import phase {phase!r}")
    with job_context(), tenant_scope(tenant_id):
        run_started(run_id, _("checking rows") if phase == "dry_run" else _("committing"))
        batch = db.session.get(ImportBatch, batch_id)
        tenant = db.session.get(Tenant, tenant_id)
        if batch is None or tenant is None:
            run_failed(run_id, LookupError(f"import batch {batch_id} not found"))
            return
        check, write = _reporters(run_id, phase)
        try:
            with collector_paused():
                if phase == "dry_run":
                    plan = flow.dry_run(db.session, batch, tenant, check)
                else:
                    plan = flow.commit(
                        db.session, batch, tenant, batch.created_by_id, write, check_progress=check
                    )
            db.session.commit()
        except flow.ImportRejected as rejected:
            db.session.commit()  # only the batch's new report; nothing was imported
            run_finished(run_id, {"rejected": batch.rejected_count}, str(rejected)[:300])
            return
        except ImportFileError as error:
            db.session.rollback()
            _fail(batch_id, run_id, error, str(error))
            return
        except Exception as error:
            db.session.rollback()
            _fail(batch_id, run_id, error, _("an unexpected error occurred."))
            raise
        report = plan.report()
        report.pop("rejected")
        run_finished(run_id, report, _summary(phase, report))


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a file is checked or written.

    A 100,000-row file makes millions of small lists and dicts, none in a
    cycle; each full collection walks all of them again (a fifth of the run's
    time). Only on an rq worker, which has the process to itself; in-process
    (no Redis) the job shares the web server with other requests, and
    collection carries on. Collection resumes after.
    """
    if get_current_job() is None:
        yield
        return
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _reporters(run_id: int, phase: str):
    """Progress callbacks for the checking and the writing part.

    SQLite allows one writer, and a transaction that has read cannot write
    after another connection committed: there a progress update (its own
    short transaction) would lock the import out, so the run reports only
    its start and its end.
    """
    if db.session.get_bind().dialect.name == "sqlite":
        return _quiet, _quiet

    def check(percent: int, message: str) -> None:
        run_progress(run_id, percent if phase == "dry_run" else percent // 2, message)

    def write(percent: int, message: str) -> None:
        run_progress(run_id, 50 + percent // 2, message)

    return check, write


def _quiet(_percent: int, _message: str) -> None:
    pass


def _fail(batch_id: int, run_id: int, error: BaseException, message: str) -> None:
    batch = db.session.get(ImportBatch, batch_id)
    if batch is not None:
        batch.status = "failed"
        batch.error = message[:500]
        db.session.commit()
    run_failed(run_id, error)


def _summary(phase: str, report: dict) -> str:
    counts = {key: number(report[key]) for key in ("rows", "created", "updated", "rejected_count")}
    if phase == "dry_run":
        return _(
            "%(rows)s rows checked: %(created)s to create, %(updated)s to update, "
            "%(rejected_count)s rejected",
            **counts,
        )
    return _("%(rows)s rows imported: %(created)s created, %(updated)s updated", **counts)
