"""Runs that always end: a killed work horse, a worker lost with its horse, a run the
queue no longer knows, each becomes "abandoned" and never blocks a new run; a killed
import goes back to where it can be started again; concurrent starts join one run.

The kills are real: a forking ``rq worker -w crm.worker.Worker`` subprocess whose
work horse (or the worker and its horse) gets SIGKILL while its job waits on a
lock the test holds."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from config import Default
from crm import jobs
from crm.extensions import db
from crm.metrics import jobs as metric_jobs
from crm.models import JobRun
from crm.tenancy import set_database_tenant, tenant_scope
from tests.clients import client_as
from tests.faults.conftest import (
    active_runs,
    batch_status,
    mapping_form,
    organisations_csv,
    tenant_with,
    upload,
)
from tests.metrics.conftest import ROOT, work, worker_process


def start_worker(database_urls, redis_url) -> subprocess.Popen:
    """The documented forking worker, in the background: a work horse per job."""
    command, env = worker_process(database_urls, redis_url)
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def wait_for(predicate, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def horse_of(worker: subprocess.Popen) -> int | None:
    """The worker's work horse (its child process), once it has forked one."""
    try:
        children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
    except FileNotFoundError:
        return None
    return int(children[0]) if children else None


class Locked:
    """An owner transaction holding ACCESS EXCLUSIVE on a table: any job reading it
    waits, so it can be killed mid-run. Released by ``release``."""

    def __init__(self, owner_url: str, table: str):
        self.engine = create_engine(owner_url)
        self.connection = self.engine.connect()
        self.transaction = self.connection.begin()
        self.connection.execute(text(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE'))

    def waiting(self) -> bool:
        """Whether some other backend waits for a lock (asked on another connection:
        a transaction sees one snapshot of pg_stat_activity)."""
        return waiting_on_a_lock(self.engine)

    def release(self) -> None:
        self.transaction.rollback()
        self.connection.close()
        self.engine.dispose()


def waiting_on_a_lock(engine) -> bool:
    with engine.connect() as connection:
        return bool(
            connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"
                )
            ).scalar()
        )


def _finish(worker: subprocess.Popen) -> str:
    try:
        output, _ = worker.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        worker.kill()
        output, _ = worker.communicate()
    return output.decode(errors="replace")


def _runs(owner_sql, tenant_id: int) -> list:
    return owner_sql(
        "SELECT id, status, error FROM job_runs WHERE tenant_id = :t ORDER BY id", t=tenant_id
    )


@pytest.mark.postgres
def test_a_refresh_whose_horse_is_killed_past_its_retries_is_abandoned_and_refresh_works(
    job_app, redis_url, queue, database_urls, owner_sql
):
    jobs_config = {
        **Default.JOBS,
        metric_jobs.TENANT_KIND: {"timeout": 300, "retries": 1, "retry_intervals": [0]},
    }
    app = job_app(REDIS_URL=redis_url, JOBS=jobs_config)
    client, tenant_id, slug, _ = tenant_with(app)
    assert client.post(f"/{slug}/figures/refresh").status_code == 302
    (first,) = _runs(owner_sql, tenant_id)
    lock = Locked(database_urls["owner"], "organisations")
    worker = start_worker(database_urls, redis_url)
    try:
        for attempt in ("first try", "the retry"):
            wait_for(lock.waiting, what=f"the refresh to wait on the lock ({attempt})")
            horse = wait_for(lambda: horse_of(worker), what="the work horse")
            os.kill(horse, signal.SIGKILL)
            wait_for(lambda h=horse: horse_of(worker) != h, what="the horse to be gone")
        output = _finish(worker)
    finally:
        lock.release()
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert "Work-horse terminated unexpectedly" in output, output[-3000:]
    # The horse never recorded an end: the run still says "running".
    assert _runs(owner_sql, tenant_id)[0].status == "running"

    # The figures page looks at it: rq reports the job failed, so it is abandoned.
    page = client.get(f"/{slug}/figures").get_data(as_text=True)
    (run,) = _runs(owner_sql, tenant_id)
    assert run.id == first.id and run.status == "abandoned"
    assert "reports this run failed" in run.error and "abandoned" in page

    # And a new Refresh starts (it is not joined to the dead run).
    page = client.post(f"/{slug}/figures/refresh", follow_redirects=True)
    assert "Refresh started." in page.get_data(as_text=True)
    runs = _runs(owner_sql, tenant_id)
    assert [r.status for r in runs] == ["abandoned", "queued"]


@pytest.mark.postgres
def test_a_run_whose_worker_died_with_its_horse_is_abandoned_by_its_heartbeat(
    job_app, redis_url, queue, database_urls, owner_sql
):
    """The whole worker (and its horse) killed: rq still believes the job started;
    the run's heartbeat stops, and past JOB_HEARTBEAT_TIMEOUT the run is abandoned."""
    app = job_app(REDIS_URL=redis_url, JOB_HEARTBEAT_TIMEOUT=3)
    client, tenant_id, slug, _ = tenant_with(app)
    assert client.post(f"/{slug}/figures/refresh").status_code == 302
    lock = Locked(database_urls["owner"], "organisations")
    worker = start_worker(database_urls, redis_url)
    try:
        wait_for(lock.waiting, what="the refresh to wait on the lock")
        status = client.get(f"/{slug}/figures/status.json").json
        assert status["status"] == "running"  # alive: its heartbeat is fresh
        horse = wait_for(lambda: horse_of(worker), what="the work horse")
        # The worker first (so nobody tells rq), then its horse (its own session).
        os.kill(worker.pid, signal.SIGKILL)
        os.kill(horse, signal.SIGKILL)
        worker.communicate()  # EOF once both are gone (the horse shares the pipe)
    finally:
        lock.release()
    time.sleep(3.5)
    status = client.get(f"/{slug}/figures/status.json").json
    assert status["status"] == "abandoned" and "No heartbeat" in status["error"]
    page = client.post(f"/{slug}/figures/refresh", follow_redirects=True)
    assert "Refresh started." in page.get_data(as_text=True)
    assert [r.status for r in _runs(owner_sql, tenant_id)] == ["abandoned", "queued"]


@pytest.mark.postgres
def test_a_killed_import_goes_back_to_checked_and_commits_without_a_new_upload(
    job_app, redis_url, queue, database_urls, owner_sql
):
    app = job_app(REDIS_URL=redis_url, IMPORT_INLINE_MAX_ROWS=3)
    client, tenant_id, slug, _ = tenant_with(app, role="secretariat")
    batch_id = upload(client, slug, organisations_csv())
    form = mapping_form(owner_sql, batch_id)
    assert client.post(f"/{slug}/imports/{batch_id}/mapping", data=form).status_code == 302
    work(app, queue)
    assert batch_status(owner_sql, batch_id) == "checked"

    assert client.post(f"/{slug}/imports/{batch_id}/commit").status_code == 302
    lock = Locked(database_urls["owner"], "organisations")
    worker = start_worker(database_urls, redis_url)
    try:
        wait_for(lock.waiting, what="the import to wait on the lock")
        horse = wait_for(lambda: horse_of(worker), what="the work horse")
        os.kill(horse, signal.SIGKILL)
        output = _finish(worker)
    finally:
        lock.release()
    assert "Work-horse terminated unexpectedly" in output, output[-3000:]
    assert batch_status(owner_sql, batch_id) == "committing"

    page = client.get(f"/{slug}/imports/{batch_id}").get_data(as_text=True)
    assert "The import was interrupted before it finished. Nothing was imported" in page
    assert batch_status(owner_sql, batch_id) == "checked"
    assert active_runs(owner_sql) == []
    (count,) = owner_sql("SELECT count(*) FROM organisations WHERE tenant_id = :t", t=tenant_id)
    assert count[0] == 0

    assert client.post(f"/{slug}/imports/{batch_id}/commit").status_code == 302
    work(app, queue)
    assert batch_status(owner_sql, batch_id) == "committed"
    (count,) = owner_sql("SELECT count(*) FROM organisations WHERE tenant_id = :t", t=tenant_id)
    assert count[0] == 40


# -- the heartbeat itself ---------------------------------------------------------------


def note_heartbeats(tenant_id: int, run_id: int) -> dict:
    """Job: read its own run's heartbeat now and after a second (another connection)."""
    seen = []
    for _ in range(2):
        with db.engine.connect() as connection, tenant_scope(tenant_id):
            set_database_tenant(connection, tenant_id)
            seen.append(
                connection.execute(
                    text("SELECT heartbeat_at FROM job_runs WHERE id = :id"), {"id": run_id}
                ).scalar()
            )
        time.sleep(1.2)
    return {"first": seen[0].isoformat(), "second": seen[1].isoformat()}


@pytest.mark.postgres
def test_a_running_job_writes_its_heartbeat(job_app):
    app = job_app(JOB_HEARTBEAT_INTERVAL=0.3)
    _, tenant_id, _, _ = tenant_with(app)
    with app.app_context():
        run = jobs.start_run(
            metric_jobs.TENANT_KIND, note_heartbeats, tenant_id, tenant_id=tenant_id
        )
        assert run.status == "finished", run.error
        assert run.result["second"] > run.result["first"]


# -- joining --------------------------------------------------------------------------


@pytest.mark.postgres
def test_a_start_racing_an_uncommitted_run_joins_it(
    job_app, redis_url, queue, database_urls, owner_sql
):
    """Another start's run is inserted but not yet committed: this start's insert
    waits on the unique index, fails when the other commits, and joins that run."""
    app = job_app(REDIS_URL=redis_url)
    _, tenant_id, _, _ = tenant_with(app)
    key = jobs.active_key(metric_jobs.TENANT_KIND, tenant_id)
    engine = create_engine(database_urls["owner"])
    other = engine.connect()
    first = other.begin()
    other_id = other.execute(
        text(
            "INSERT INTO job_runs (kind, tenant_id, status, progress, active_key, created_at) "
            "VALUES (:kind, :t, 'queued', 0, :key, now()) RETURNING id"
        ),
        {"kind": metric_jobs.TENANT_KIND, "t": tenant_id, "key": key},
    ).scalar()
    outcome = {}

    def start() -> None:
        with app.app_context():
            run = metric_jobs.start_refresh(tenant_id)
            outcome.update(id=run.id, joined=run.joined)

    thread = threading.Thread(target=start)
    thread.start()
    try:
        wait_for(lambda: waiting_on_a_lock(engine), what="the second insert to wait")
        first.commit()
        thread.join(timeout=30)
    finally:
        other.close()
        engine.dispose()
    assert outcome == {"id": other_id, "joined": True}
    assert len(active_runs(owner_sql)) == 1 and queue.count == 0


@pytest.mark.postgres  # SQLite: a request that read cannot write after another committed
def test_concurrent_refresh_clicks_join_one_run(job_app, redis_url, queue, owner_sql):
    app = job_app(REDIS_URL=redis_url)
    client, tenant_id, slug, _ = tenant_with(app)
    with client.session_transaction() as session:
        identity = session["_user_id"]
    clients = [client_as(app, identity) for _ in range(6)]
    barrier = threading.Barrier(len(clients))
    flashes: list[str] = []

    def click(c) -> None:
        barrier.wait()
        page = c.post(f"/{slug}/figures/refresh", follow_redirects=True)
        text_ = page.get_data(as_text=True)
        flashes.append("started" if "Refresh started." in text_ else "joined")

    threads = [threading.Thread(target=click, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(flashes) == ["joined"] * 5 + ["started"]
    assert len(_runs(owner_sql, tenant_id)) == 1 and queue.count == 1


# -- the sweep -----------------------------------------------------------------------------


def test_the_sweep_abandons_a_run_the_queue_no_longer_knows(job_app, redis_url, queue, owner_sql):
    app = job_app(REDIS_URL=redis_url, JOB_ENQUEUE_GRACE=0)
    _, tenant_id, _, _ = tenant_with(app)
    with app.app_context(), tenant_scope(tenant_id):
        lost = JobRun(
            kind=metric_jobs.TENANT_KIND,
            tenant_id=tenant_id,
            status="queued",
            rq_job_id="never-enqueued",
            active_key=jobs.active_key(metric_jobs.TENANT_KIND, tenant_id),
        )
        db.session.add(lost)
        db.session.commit()
        db.session.remove()
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["crm", "sweep-runs"])
    assert result.exit_code == 0 and "1 run(s) abandoned" in result.output
    (run,) = _runs(owner_sql, tenant_id)
    assert run.status == "abandoned" and "no longer knows" in run.error
