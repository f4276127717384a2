"""Background work: the one door to the queue (``start_run``) and a run's recorded state.

``start_run`` commits a ``JobRun`` (so the worker can see it), then runs the
job on rq when Redis is configured, or in-process otherwise. A job is a
module-level function taking ids (never ORM objects) and, as its LAST
positional argument, the id of its run: ``func(*args, run_id)``. Either way it
runs through ``perform``, which records on the run that it started, finished
or failed; the job may add progress, a message and a result itself.

Runs always end. A run is recorded (committed) before it is enqueued; when the
queue does not take it, it is marked failed and ``Unavailable`` is raised, so
the caller says that background work is unavailable. A running job writes a
heartbeat. ``settle`` marks "abandoned" a run whose process died (stale
heartbeat, or past its time limit) or that the queue lost or gave up on, so it
never blocks a new one; it runs wherever a run is looked at (a Refresh, a
status page) and every few minutes from ``rq cron`` (``sweep``). A start with
``exclusive=True`` joins the active run of the same kind and scope, which the
database keeps to one (``job_runs.active_key``, a partial unique index).

This package sits below the app factory and the areas: it never imports
``crm`` (the factory) or ``crm.worker``. A job gets its app from the current
app context or, on a worker, from the app ``crm.worker`` registers here
(``use_app``).
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from uuid import uuid4

from flask import Flask, current_app, has_app_context
from rq import Queue, Retry, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy import Engine, event, select, text, update
from sqlalchemy.exc import IntegrityError

from crm.extensions import db, redis_connection
from crm.i18n import _l, force_locale, tenant_language
from crm.models import JobRun, Tenant, User
from crm.models.base import utcnow
from crm.tenancy import current_tenant_id, set_database_tenant, tenant_scope

QUEUE_NAME = "crm"
ACTIVE = ("queued", "running")
UNAVAILABLE = _l(
    "Background work is unavailable just now (the job queue does not answer), so "
    "nothing was started. Please try again in a few minutes."
)
# rq's states of a job that will still run (or is running: "started").
_WAITING = ("queued", "scheduled", "deferred", "created")


class Unavailable(Exception):
    """The queue did not take the job: the run (``run``) is marked failed with the reason."""

    def __init__(self, run: JobRun):
        super().__init__(str(UNAVAILABLE))
        self.run = run


_app: Flask | None = None  # the worker's app (crm.worker), when there is no app context


def use_app(app: Flask | None) -> None:
    """Run jobs outside an app context with ``app`` (the worker process's, built once)."""
    global _app
    _app = app


def queue() -> Queue | None:
    connection = redis_connection()
    return Queue(QUEUE_NAME, connection=connection) if connection is not None else None


def settings(kind: str) -> dict:
    """The configured timeout, retries and retry intervals of one kind of job."""
    try:
        return current_app.config["JOBS"][kind]
    except KeyError:
        raise LookupError(f"no settings for job kind {kind!r}: add it to JOBS in config/") from None


def start_run(
    kind: str,
    func: Callable[..., Any],
    *args: Any,
    tenant_id: int | None,
    user_id: int | None = None,
    timeout: int | None = None,
    retries: int | None = None,
    message: str | None = None,
    on_created: Callable[[JobRun], None] | None = None,
    in_process: bool = False,
    exclusive: bool = False,
) -> JobRun:
    """Record a run of ``func(*args, run_id)`` and start it; return the run (reloaded).

    Commits the caller's session together with the new run: ``on_created(run)``
    is called after the run is flushed (it has its id) and before that commit,
    for rows that must point at the run from the start. Without Redis the job
    runs here and now; its exception is recorded on the run and logged, not
    raised. With Redis it is enqueued, after that commit, with the kind's
    configured timeout and retries (``timeout``/``retries`` override them), and
    the rq job id is on the run; when Redis does not take it, the run is marked
    failed and ``Unavailable`` is raised (the caller's changes are committed:
    it puts back what it changed). ``func`` must be importable by name (rq
    pickles a reference). ``in_process``: run it here even when Redis is
    configured (a shell command's "now"); its outcome is on the returned run.
    ``exclusive``: one active run per kind and scope; a start while one is
    active returns that run, with ``joined`` True, and starts nothing.
    """
    config = current_app.config
    job = settings(kind)
    timeout = job["timeout"] if timeout is None else timeout
    retries = job["retries"] if retries is None else retries
    q = None if in_process else queue()
    rq_job_id = None if q is None else str(uuid4())  # chosen here, so it is committed with the run
    key = active_key(kind, tenant_id) if exclusive else None
    for _attempt in range(3):
        if key is not None and (joined := _join(key, tenant_id)) is not None:
            return joined
        run_id = create_run(
            kind,
            tenant_id,
            user_id,
            message=message,
            rq_job_id=rq_job_id,
            on_created=on_created,
            active_key=key,
        )
        if run_id is not None:
            break
    else:  # runs of this key kept ending and starting under our feet
        raise RuntimeError(f"could not start or join a {kind} run")
    if q is None:
        try:
            perform(func, args, run_id, tenant_id)
        except Exception:  # recorded on the run; the page shows it
            current_app.logger.exception("job %s (run %s) failed", kind, run_id)
    else:
        try:
            q.enqueue(
                perform,
                args=(func, args, run_id, tenant_id),
                job_id=rq_job_id,
                job_timeout=timeout,
                retry=_retry(retries, job["retry_intervals"]),
                result_ttl=config["JOB_RESULT_TTL"],
                failure_ttl=config["JOB_FAILURE_TTL"],
                description=f"{kind} run {run_id}: {func.__module__}.{func.__qualname__}",
            )
        except Exception as exc:  # Redis unreachable: the run ends here, and the caller says so
            current_app.logger.exception("job %s (run %s) could not be enqueued", kind, run_id)
            with tenant_scope(tenant_id):
                _set_run(
                    run_id,
                    status="failed",
                    finished_at=utcnow(),
                    message="not started: background work is unavailable",
                    error=_detail(exc),
                )
                raise Unavailable(_reloaded(run_id)) from exc
    with tenant_scope(tenant_id):
        return _reloaded(run_id)


def _reloaded(run_id: int) -> JobRun:
    return db.session.get(JobRun, run_id, populate_existing=True)


def _of_scope(tenant_id: int | None):
    return JobRun.tenant_id.is_(None) if tenant_id is None else JobRun.tenant_id == tenant_id


def active_key(kind: str, tenant_id: int | None) -> str:
    """What an exclusive run works on: its kind and scope."""
    return f"{kind}:{'alliance' if tenant_id is None else tenant_id}"


def active_run(kind: str, tenant_id: int | None) -> JobRun | None:
    """The queued or running run of this kind and scope that is still alive, if any
    (runs found dead on the way are marked abandoned: ``settle``)."""
    query = select(JobRun).where(
        JobRun.kind == kind, JobRun.status.in_(ACTIVE), _of_scope(tenant_id)
    )
    for run in db.session.scalars(query.order_by(JobRun.id.desc())).all():
        if settle(run):
            return run
    return None


def _join(key: str, tenant_id: int | None) -> JobRun | None:
    """The live active run of ``key`` (its dead ones marked abandoned and committed)."""
    with tenant_scope(tenant_id):
        run = db.session.scalar(
            select(JobRun).where(JobRun.active_key == key, JobRun.status.in_(ACTIVE))
        )
        if run is None:
            return None
        if settle(run):
            run.joined = True
            return run
        db.session.commit()  # the abandoned one, before a new run takes its key
    return None


def create_run(
    kind: str,
    tenant_id: int | None,
    user_id: int | None = None,
    *,
    message: str | None = None,
    rq_job_id: str | None = None,
    on_created: Callable[[JobRun], None] | None = None,
    active_key: str | None = None,
) -> int | None:
    """A queued JobRun, committed with the session's other changes (the worker must see it).

    Returns its id, read before the commit: reading it afterwards would reload
    the row in a new transaction that stays open (idle) for as long as the
    caller then runs the job. With ``active_key``, None when another run of that
    key is active: the database refused the second (``uq_job_runs_active_key``;
    a concurrent insert waits for the first to commit, then fails).
    """
    with tenant_scope(tenant_id):
        run = JobRun(
            kind=kind,
            tenant_id=tenant_id,
            status="queued",
            progress=0,
            message=message,
            rq_job_id=rq_job_id,
            requested_by_id=user_id,
            active_key=active_key,
        )
        try:
            with db.session.begin_nested():  # a refused insert undoes only itself
                db.session.add(run)
                db.session.flush()
        except IntegrityError:
            if active_key is None:
                raise
            return None
        if on_created is not None:
            on_created(run)
        run_id = run.id
        db.session.commit()
    return run_id


def perform(func: Callable[..., Any], args: tuple, run_id: int, tenant_id: int | None) -> Any:
    """Run ``func(*args, run_id)`` and record the outcome on the run (the job rq runs).

    A failure is recorded, then re-raised, so rq retries it (the run goes back
    to queued, its error kept) and, when retries run out, keeps the job in its
    failed registry. A job that returns without recording an end is finished
    here, with its result if that is a dict. A run that is no longer active
    (marked abandoned while this job waited for a retry) is not run again. The
    job writes a heartbeat while it runs.
    """
    with job_context(), tenant_scope(tenant_id):  # tenant scope: RLS on job_runs
        if not run_started(run_id):
            current_app.logger.warning("run %s is no longer active: not run", run_id)
            return None
        token = _job_language.set(run_language(run_id))
        try:
            with heartbeat(run_id, tenant_id), force_locale(_job_language.get()):
                result = func(*args, run_id)
        except Exception as exc:
            current = get_current_job()
            if current is not None and current.should_retry:
                _set_run(
                    run_id,
                    _only_active=True,
                    status="queued",
                    finished_at=None,
                    message="failed; will be retried",
                    error=_detail(exc),
                )
            else:
                run_failed(run_id, exc)
            raise
        finally:
            _job_language.reset(token)
        _set_run(
            run_id,
            _only_active=True,
            status="finished",
            progress=100,
            finished_at=utcnow(),
            result=result if isinstance(result, dict) else None,
        )
        return result


@contextmanager
def heartbeat(run_id: int, tenant_id: int | None) -> Iterator[None]:
    """Write the run's ``heartbeat_at`` every JOB_HEARTBEAT_INTERVAL seconds from a
    thread, for as long as the block runs: the beat stops when the process dies
    (a killed work horse, a lost worker), and ``settle`` then abandons the run.

    PostgreSQL only: SQLite has one writer, and a transaction that has read
    cannot write after another connection committed, so a beat would lock the
    job out (there a run is bounded by its kind's time limit instead). Nor when
    the app is bound to a single connection (the tests' rolled-back one), which
    a second thread must not share.
    """
    app = current_app._get_current_object()
    bind = db.engines[None]
    if not isinstance(bind, Engine) or bind.dialect.name != "postgresql":
        yield
        return
    interval = app.config["JOB_HEARTBEAT_INTERVAL"]
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(interval):
            try:
                with app.app_context(), tenant_scope(tenant_id):
                    _set_run(run_id, _only_active=True, heartbeat_at=utcnow())
            except Exception:  # the job goes on; a missed beat is only late
                app.logger.warning("run %s: heartbeat not written", run_id, exc_info=True)

    thread = threading.Thread(target=beat, name=f"heartbeat-run-{run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=interval + 10)


# -- runs that ended without saying so ------------------------------------------------


def settle(run: JobRun) -> bool:
    """Whether ``run`` (queued or running) is still alive; if not, mark it "abandoned"
    with the reason, in the session (the caller commits), and return False.

    Dead: its rq job failed, was stopped or is gone (JOB_ENQUEUE_GRACE seconds
    after the run was recorded), or finished without recording an end; or it
    runs and its heartbeat is older than JOB_HEARTBEAT_TIMEOUT (PostgreSQL), or
    it has run past its kind's time limit; or, run in-process, it never began.
    A run waiting in the queue is alive. When Redis does not answer, only the
    heartbeat and the time limit decide.
    """
    if run.status not in ACTIVE:
        return False
    reason = _why_dead(run)
    if reason is None:
        return True
    abandoned = db.session.execute(
        update(JobRun)
        .where(JobRun.id == run.id, JobRun.status.in_(ACTIVE))
        .values(status="abandoned", finished_at=utcnow(), error=reason, message=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(run)
    if abandoned:
        current_app.logger.warning("run %s (%s) abandoned: %s", run.id, run.kind, reason)
    return run.status in ACTIVE


def settled(run: JobRun | None) -> JobRun | None:
    """``run`` as a page should show it: if it is active but dead, marked abandoned
    (and committed, so the next Refresh is free to start)."""
    if run is not None and run.status in ACTIVE and not settle(run):
        db.session.commit()
    return run


def _why_dead(run: JobRun) -> str | None:
    config = current_app.config
    now = utcnow()
    state = _rq_state(run.rq_job_id)
    if state in ("failed", "stopped", "canceled"):
        return f"The job queue reports this run {state} (its process was stopped or died)."
    if state == "finished":
        return "The run ended without recording its outcome."
    recorded_for = (now - _aware(run.created_at)).total_seconds()
    if state == "missing" and recorded_for > config["JOB_ENQUEUE_GRACE"]:
        return "The job queue no longer knows this run."
    if state in _WAITING:
        return None
    if run.status == "queued":
        if run.rq_job_id is None and recorded_for > config["JOB_ENQUEUE_GRACE"]:
            return "The run never began (the process that started it stopped)."
        return None
    beat = run.heartbeat_at or run.started_at or run.created_at
    silent_for = (now - _aware(beat)).total_seconds()
    if _beats() and silent_for > config["JOB_HEARTBEAT_TIMEOUT"]:
        return f"No heartbeat for {silent_for:.0f} s: the process running it died."
    started = run.started_at or run.created_at
    limit = _time_limit(run.kind) + config["JOB_HEARTBEAT_TIMEOUT"]
    if (now - _aware(started)).total_seconds() > limit:
        return f"The run went past its time limit ({limit:.0f} s) without ending."
    return None


def _rq_state(rq_job_id: str | None) -> str | None:
    """rq's status of the job, "missing" when rq does not know it, None when there is
    no rq job or Redis does not answer."""
    connection = redis_connection()
    if rq_job_id is None or connection is None:
        return None
    try:
        status = Job.fetch(rq_job_id, connection=connection).get_status(refresh=False)
        return getattr(status, "value", status)  # rq's JobStatus enum, as its plain name
    except NoSuchJobError:
        return "missing"
    except Exception:  # Redis unreachable: it cannot tell
        current_app.logger.warning("job queue unreachable while checking a run", exc_info=True)
        return None


def _beats() -> bool:
    return db.engines[None].dialect.name == "postgresql"


def _time_limit(kind: str) -> float:
    try:
        job = settings(kind)
    except LookupError:
        return 3600.0
    retries = job["retries"] or 0
    waits = sum((job["retry_intervals"] or [0])[:retries]) if retries else 0
    return job["timeout"] * (retries + 1) + waits


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def sweep() -> int:
    """Settle every active run of every scope; the number abandoned. ``rq cron`` runs it
    every few minutes (``crm.metrics.schedule``); so does ``flask crm sweep-runs``."""
    abandoned = 0
    with job_context():
        scopes = [None, *db.session.scalars(select(Tenant.id).order_by(Tenant.id))]
        for tenant_id in scopes:
            with tenant_scope(tenant_id):  # RLS on job_runs: each scope sees its own
                query = select(JobRun).where(JobRun.status.in_(ACTIVE), _of_scope(tenant_id))
                for run in db.session.scalars(query).all():
                    abandoned += not settle(run)
                db.session.commit()
    return abandoned


def _retry(retries: int, intervals: list[int]) -> Retry | None:
    # rq indexes the intervals on each retry: an empty list must become "no wait".
    return Retry(max=retries, interval=intervals or 0) if retries else None


def job_app() -> Flask:
    """The app a job runs with: the current one, else the one the worker registered."""
    if has_app_context():
        return current_app._get_current_object()
    if _app is None:
        raise RuntimeError(
            "no app for this job: run it in an app context, or on the worker "
            "(rq worker crm -w crm.worker.Worker), which builds one"
        )
    return _app


@contextmanager
def job_context() -> Iterator[None]:
    """A fresh app context (and so a fresh session) for one job run, under the job
    limits (JOB_STATEMENT_TIMEOUT, JOB_IDLE_IN_TRANSACTION_TIMEOUT) also when it runs
    in a web or shell process, whose connections carry the web limits."""
    app = job_app()
    with app.app_context(), force_locale(_job_language.get()):
        limits = None
        if not app.config.get("JOB_PROCESS"):
            limits = (
                str(round(app.config["JOB_STATEMENT_TIMEOUT"] * 1000)),
                str(round(app.config["JOB_IDLE_IN_TRANSACTION_TIMEOUT"] * 1000)),
            )
        token = _job_limits.set(limits)
        try:
            yield
        finally:
            _job_limits.reset(token)
            db.session.remove()


# The language of the run being performed (``run_language``): a job's nested
# app context speaks it too.
_job_language: ContextVar[str] = ContextVar("crm_job_language", default="en")


def run_language(run_id: int) -> str:
    """The language of whoever started the run, else of its association: they read
    what the job writes for people (progress, reports, messages). Read in a short
    transaction of its own, like the run's state, so the job's session starts fresh."""
    statement = (
        select(User.language, Tenant.language, Tenant.country)
        .select_from(JobRun)
        .outerjoin(User, User.id == JobRun.requested_by_id)
        .outerjoin(Tenant, Tenant.id == JobRun.tenant_id)
        .where(JobRun.id == run_id)
    )
    with db.engine.begin() as connection:
        set_database_tenant(connection, current_tenant_id())  # RLS on job_runs
        row = connection.execute(statement).first()
    if row is None or row[0]:
        return row[0] if row else tenant_language(None)
    _user_language, language, country = row
    association = SimpleNamespace(language=language, country=country) if country else None
    return tenant_language(association)


# The (statement, idle) limits in ms that a job's transactions take, when its
# connections do not already carry them (a job run in a web or shell process).
_job_limits: ContextVar[tuple[str, str] | None] = ContextVar("crm_job_limits", default=None)


def _apply_job_limits(_session, _transaction, connection) -> None:
    limits = _job_limits.get()
    if limits is None or connection.dialect.name != "postgresql":
        return
    connection.execute(  # transaction-local: the pooled connection keeps the web limits
        text(
            "SELECT set_config('statement_timeout', :statement, true), "
            "set_config('idle_in_transaction_session_timeout', :idle, true)"
        ),
        {"statement": limits[0], "idle": limits[1]},
    )


def install(session_factory) -> None:
    """Attach the job limits to the app's session factory (once; ``create_app``)."""
    if not event.contains(session_factory, "after_begin", _apply_job_limits):
        event.listen(session_factory, "after_begin", _apply_job_limits)


def _set_run(
    run_id: int, *, _only_active: bool = False, _unless: str | None = None, **values
) -> bool:
    """Write a JobRun's state in its own short transaction, so it is visible
    while the job's main transaction is still open. ``_only_active``: leave a
    run alone that the job already marked finished or failed, or that was
    abandoned; ``_unless``: leave it alone in that status. Whether the run was
    written."""
    statement = update(JobRun).where(JobRun.id == run_id)
    if _only_active:
        statement = statement.where(JobRun.status.in_(ACTIVE))
    if _unless is not None:
        statement = statement.where(JobRun.status != _unless)
    with db.engine.begin() as connection:
        set_database_tenant(connection, current_tenant_id())  # RLS on job_runs
        return connection.execute(statement.values(**values)).rowcount == 1


def run_started(run_id: int, message: str | None = None) -> bool:
    """Mark the run running; False when it is no longer active (abandoned meanwhile)."""
    now = utcnow()
    # A failed or finished run may run again (``rq requeue``, a duplicated job);
    # an abandoned one was given up, and perhaps replaced: it stays ended.
    return _set_run(
        run_id,
        _unless="abandoned",
        status="running",
        started_at=now,
        heartbeat_at=now,
        progress=0,
        error=None,
        message=message,
    )


def run_progress(run_id: int, percent: int, message: str | None = None) -> None:
    _set_run(
        run_id, progress=max(0, min(100, int(percent))), message=message, heartbeat_at=utcnow()
    )


def run_finished(run_id: int, result: dict | None = None, message: str | None = None) -> None:
    _set_run(
        run_id,
        status="finished",
        progress=100,
        finished_at=utcnow(),
        result=result,
        message=message,
    )


def run_failed(run_id: int, exc: BaseException) -> None:
    _set_run(run_id, status="failed", finished_at=utcnow(), error=_detail(exc))


def _detail(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()[:4000]
