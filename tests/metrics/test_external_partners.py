"""External partners in consortia: member figures stay as they were; the
international projects figure counts the countries they bring."""

from __future__ import annotations

from sqlalchemy import create_engine, select, text

from crm.extensions import db
from crm.metrics import jobs
from crm.models import JobRun
from tests.metrics.conftest import stored

# Every figure about the association's members (none may count an external partner).
MEMBER_METRICS = {
    "members",
    "members_by_kind",
    "members_by_size_class",
    "sme_share",
    "members_by_ecosystem",
    "members_by_country",
    "members_by_region",
    "employees",
    "joins_by_quarter",
    "lapses_by_quarter",
    "sme_participation_rate",
    # CORDIS lists the external partners' PICs too: they must not count.
    "cordis_recorded_share",
    "sme_participation_rate_cordis",
}


def _refresh(app) -> int:
    """An alliance refresh, in-process (no Redis); the snapshot's id."""
    with app.app_context():
        run_id = jobs.start_refresh(None).id
        db.session.remove()
        run = db.session.scalar(select(JobRun).where(JobRun.id == run_id))
        assert run.status == "finished", run.error
        return run.result["snapshot_id"]


def _drop_external_partners(owner_url: str) -> int:
    engine = create_engine(owner_url)
    try:
        with engine.begin() as c:
            external = "SELECT id FROM organisations WHERE is_external"
            c.execute(text(f"DELETE FROM participations WHERE organisation_id IN ({external})"))
            return c.execute(text("DELETE FROM organisations WHERE is_external")).rowcount
    finally:
        engine.dispose()


def _only(values: dict, metrics) -> dict:
    return {k: v for k, v in values.items() if k[1] in metrics}


def test_member_figures_are_unchanged_by_external_partners(metrics_app, seeded, database_urls):
    app = metrics_app()
    seeded(app)
    owner = database_urls["owner"]
    with_partners = stored(owner, _refresh(app))
    assert _drop_external_partners(owner) == 12  # four per association
    without = stored(owner, _refresh(app))

    members = _only(without, MEMBER_METRICS)
    assert {k[1] for k in members} == MEMBER_METRICS  # every member figure was computed
    assert _only(with_partners, MEMBER_METRICS) == members

    def international(values) -> int:
        return sum(
            v[1]
            for k, v in values.items()
            if k[1] == "international_projects" and k[0] == ("total",)
        )

    # Partners from Germany, Norway and Italy make more consortia international.
    assert international(with_partners) > international(without)
