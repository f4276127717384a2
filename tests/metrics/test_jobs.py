"""Both refreshes through a real rq worker, checked metric by metric against plain Python."""

from __future__ import annotations

import subprocess
from decimal import Decimal

from rq.cron import CronScheduler
from rq.registry import FailedJobRegistry
from sqlalchemy import create_engine, select, text

from config import Default
from crm.extensions import db
from crm.metrics import jobs, snapshots
from crm.metrics.definitions import METRICS
from crm.models import JobRun, MetricSnapshot, Tenant
from crm.tenancy import tenant_scope
from tests.metrics.conftest import (
    ROOT,
    assert_same,
    expected,
    load_rows,
    stored,
    work,
    worker_process,
)


def _run(app, run_id: int, tenant_id: int | None = None) -> JobRun:
    with app.app_context(), tenant_scope(tenant_id):
        run = db.session.get(JobRun, run_id)
        db.session.expunge(run)
        return run


def _snapshot_counts(owner_url: str) -> tuple[int, int, int]:
    engine = create_engine(owner_url)
    try:
        with engine.connect() as c:
            return c.execute(
                text(
                    "SELECT (SELECT count(*) FROM metric_snapshots), "
                    "(SELECT count(*) FROM metric_snapshots WHERE NOT complete), "
                    "(SELECT count(*) FROM metric_values)"
                )
            ).one()
    finally:
        engine.dispose()


def test_alliance_refresh_on_rq_matches_plain_python(
    metrics_app, seeded, redis_url, redis_queue, database_urls
):
    app = metrics_app(REDIS_URL=redis_url)
    seed = seeded(app)
    with app.app_context():
        run = jobs.start_refresh(None)
        assert run.status == "queued" and run.rq_job_id
    work(app, redis_queue)
    run = _run(app, run.id)
    assert run.status == "finished", run.error
    assert run.progress == 100 and run.started_at and run.finished_at
    assert run.result["snapshots"] == 1 + len(seed.tenant_ids)

    rows = load_rows(database_urls["owner"])
    wanted = expected(rows)
    actual = stored(database_urls["owner"], run.result["snapshot_id"])
    assert_same(actual, wanted)
    # Every metric was exercised by the seed, at every level.
    for metric in METRICS:
        for scope in (("total",), ("country", "FR")):
            assert any(k[0] == scope and k[1] == metric.key for k in wanted), (scope, metric.key)


def _assert_tenant_snapshot(database_urls, run: JobRun, tenant_id: int) -> None:
    """The run stored one complete snapshot, the tenant's, equal to plain Python."""
    engine = create_engine(database_urls["owner"])
    with engine.connect() as c:
        snapshot = c.execute(
            select(MetricSnapshot.tenant_id, MetricSnapshot.complete).where(
                MetricSnapshot.job_run_id == run.id
            )
        ).all()
        values = c.execute(
            text(
                "SELECT metric, d1, d2, value, n, base FROM metric_values "
                "WHERE snapshot_id = :id AND level = 'total'"
            ),
            {"id": run.result["snapshot_id"]},
        ).all()
    engine.dispose()
    assert snapshot == [(tenant_id, True)]  # one snapshot, the tenant's, complete
    wanted = {
        (("tenant", tenant_id), *k[1:]): v
        for k, v in expected(load_rows(database_urls["owner"])).items()
        if k[0] == ("tenant", tenant_id)
    }
    actual = {  # SQLite hands raw NUMERIC back as float
        (("tenant", tenant_id), r.metric, r.d1, r.d2): (Decimal(str(r.value)), r.n, r.base)
        for r in values
    }
    assert_same(actual, wanted)


def test_tenant_refresh_on_rq_matches_plain_python(
    metrics_app, seeded, redis_url, redis_queue, database_urls
):
    app = metrics_app(REDIS_URL=redis_url)
    seed = seeded(app)
    tenant_id = seed.tenant_ids[0]
    with app.app_context():
        run = jobs.start_refresh(tenant_id)
    work(app, redis_queue)
    run = _run(app, run.id, tenant_id)
    assert run.status == "finished", run.error
    _assert_tenant_snapshot(database_urls, run, tenant_id)


def test_the_documented_worker_command_runs_a_refresh(
    metrics_app, seeded, redis_url, redis_queue, database_urls
):
    """``rq worker crm -w crm.worker.Worker`` (a forking worker, app preloaded)."""
    app = metrics_app(REDIS_URL=redis_url)
    seed = seeded(app)
    tenant_id = seed.tenant_ids[2]
    with app.app_context():
        run = jobs.start_refresh(tenant_id)
    command, env = worker_process(database_urls, redis_url)
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    run = _run(app, run.id, tenant_id)
    assert run.status == "finished", (run.error, done.stderr)
    _assert_tenant_snapshot(database_urls, run, tenant_id)


def _jobs_config(kind: str, **changes) -> dict:
    """The ``JOBS`` setting with one kind's settings changed."""
    return {**Default.JOBS, kind: {**Default.JOBS[kind], **changes}}


def _after_each_metric(monkeypatch, hook) -> None:
    """Call ``hook(metric_key)`` after each metric's values are inserted, inside the
    snapshot's write transaction (where the writer's loop moves on to the next metric).

    A monkeypatch reaches the job because ``work`` runs it in this process
    (``SimpleWorker``); a forking worker's horse would not see it.
    """

    class Hooked(list):
        def __iter__(self):
            for metric in super().__iter__():
                yield metric
                hook(metric.key)  # the loop asked for the next: this one's values are in

    monkeypatch.setattr(snapshots, "METRICS", Hooked(METRICS))


def test_failure_halfway_shows_no_partial_snapshot_then_retry_completes(
    metrics_app, seeded, redis_url, redis_queue, database_urls, monkeypatch
):
    observed = {}

    def fail_once(metric_key: str) -> None:
        if metric_key == "projects_funded" and "failed" not in observed:
            observed["failed"] = True
            observed["during"] = _snapshot_counts(database_urls["owner"])
            raise RuntimeError("injected failure halfway through the snapshot")

    app = metrics_app(REDIS_URL=redis_url, JOBS=_jobs_config(jobs.ALLIANCE_KIND, retries=0))
    seeded(app)
    with app.app_context():
        first_id = jobs.start_refresh(None).id
    work(app, redis_queue)  # a first, complete snapshot
    before = _snapshot_counts(database_urls["owner"])
    _after_each_metric(monkeypatch, fail_once)
    with app.app_context():
        second = jobs.start_refresh(None)
        previous = snapshots.latest_snapshot(None).id
    work(app, redis_queue)

    # Halfway through, other connections saw only the earlier snapshot.
    assert observed["during"] == before
    assert _snapshot_counts(database_urls["owner"]) == before
    failed = _run(app, second.id)
    assert failed.status == "failed" and "injected failure" in failed.error
    with app.app_context():
        assert snapshots.latest_snapshot(None).id == previous
    registry = FailedJobRegistry(queue=redis_queue)
    assert second.rq_job_id in registry.get_job_ids()

    registry.requeue(second.rq_job_id)  # what `rq requeue` does
    work(app, redis_queue)
    done = _run(app, second.id)
    assert done.status == "finished" and done.error is None
    with app.app_context():
        latest = snapshots.latest_snapshot(None)
        assert latest.id != previous and latest.job_run_id == second.id
    rows = load_rows(database_urls["owner"])
    assert_same(stored(database_urls["owner"], latest.id), expected(rows))
    assert _run(app, first_id).status == "finished"


def test_transient_failure_is_retried_by_rq(
    metrics_app, seeded, redis_url, redis_queue, database_urls, monkeypatch
):
    calls = []

    def flaky(metric_key: str) -> None:
        calls.append(metric_key)
        if len(calls) == 3:
            raise ConnectionError("database went away")

    _after_each_metric(monkeypatch, flaky)
    app = metrics_app(
        REDIS_URL=redis_url, JOBS=_jobs_config(jobs.ALLIANCE_KIND, retry_intervals=[0])
    )
    seeded(app)
    with app.app_context():
        run = jobs.start_refresh(None)
    work(app, redis_queue)  # the retry is requeued at once and runs in the same burst
    run = _run(app, run.id)
    assert run.status == "finished"
    assert len(calls) > len(METRICS)  # the first attempt stopped, the second went through
    assert _snapshot_counts(database_urls["owner"])[1] == 0  # nothing left incomplete


def test_running_twice_gives_two_complete_identical_snapshots(
    metrics_app, seeded, redis_url, redis_queue, database_urls
):
    app = metrics_app(REDIS_URL=redis_url)
    seeded(app)
    with app.app_context():
        a_id = jobs.start_refresh(None).id
    work(app, redis_queue)
    with app.app_context():  # a second start while the first is active would join it
        b_id = jobs.start_refresh(None).id
    work(app, redis_queue)
    a, b = _run(app, a_id), _run(app, b_id)
    assert a.status == b.status == "finished"
    owner = database_urls["owner"]
    first, second = stored(owner, a.result["snapshot_id"]), stored(owner, b.result["snapshot_id"])
    assert first == second
    # The same run executed again (a duplicated rq job) replaces its own snapshot.
    with app.app_context():
        jobs.refresh_alliance(a.id)
    engine = create_engine(owner)
    with engine.connect() as c:
        per_run = c.execute(
            text(
                "SELECT count(*) FROM metric_snapshots WHERE job_run_id = :id AND tenant_id IS NULL"
            ),
            {"id": a.id},
        ).scalar_one()
    engine.dispose()
    assert per_run == 1


def test_the_nightly_schedule_records_its_own_run(
    metrics_app, seeded, redis_url, redis_queue, database_urls
):
    """``rq cron crm.metrics.schedule``: the job it enqueues (no run id) records a run."""
    app = metrics_app(REDIS_URL=redis_url)
    seeded(app)
    scheduler = CronScheduler(connection=redis_queue.connection)
    scheduler.load_config_from_file("crm.metrics.schedule")  # what `rq cron` does
    by_name = {cron_job.name: cron_job for cron_job in scheduler.get_jobs()}
    assert set(by_name) == {
        "metrics-nightly-alliance-refresh",
        "jobs-sweep-abandoned-runs",
        "downloads-purge-expired-exports",
        "mailings-nightly-renewal-reminders",  # tests/mailings/test_sending.py runs these two
        "mailings-dispatch-scheduled",
    }
    job = by_name["metrics-nightly-alliance-refresh"].enqueue(redis_queue.connection)
    assert job.timeout == Default.NIGHTLY_METRICS_TIMEOUT
    assert job.failure_ttl == Default.JOB_FAILURE_TTL
    work(app, redis_queue)
    with app.app_context(), tenant_scope(None):
        run = db.session.scalars(select(JobRun)).one()
        assert (run.kind, run.tenant_id, run.rq_job_id) == (jobs.ALLIANCE_KIND, None, job.id)
        assert run.status == "finished", run.error
        assert snapshots.latest_snapshot(None).job_run_id == run.id


def _flask(app, *args: str):
    """``flask --app wsgi crm ...`` (which pushes an app context, as here)."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=["crm", *args])


def test_the_refresh_command_runs_now_or_enqueues(
    metrics_app, seeded, redis_url, redis_queue, database_urls
):
    app = metrics_app(REDIS_URL=redis_url)
    seed = seeded(app)
    with app.app_context():
        slug = db.session.get(Tenant, seed.tenant_ids[0]).slug

    now = _flask(app, "refresh-metrics", "--tenant", slug)
    assert now.exit_code == 0, now.output
    assert now.output.startswith("run ") and "snapshot" in now.output
    assert redis_queue.count == 0  # ran here, although Redis is configured

    later = _flask(app, "refresh-metrics", "--enqueue")
    assert later.exit_code == 0, later.output
    run_id = int(later.output.split()[2])
    assert redis_queue.count == 1
    work(app, redis_queue)
    assert _run(app, run_id).status == "finished"

    unknown = _flask(app, "refresh-metrics", "--tenant", "nowhere")
    assert unknown.exit_code == 2 and "no association 'nowhere'" in unknown.output
    no_redis = _flask(metrics_app(), "refresh-metrics", "--enqueue")
    assert no_redis.exit_code == 2 and "--enqueue needs REDIS_URL" in no_redis.output


def test_the_refresh_command_reports_a_failure(metrics_app, seeded, monkeypatch):
    app = metrics_app()
    seeded(app)

    def broken(*_args, **_kwargs):
        raise RuntimeError("the metrics role cannot connect")

    monkeypatch.setattr(snapshots, "refresh", broken)
    failed = _flask(app, "refresh-metrics")
    assert failed.exit_code == 1
    assert "refresh failed (run " in failed.output and "cannot connect" in failed.output
