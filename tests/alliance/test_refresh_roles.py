"""Who may start the alliance refresh: the alliance admin only; the analyst reads."""

from __future__ import annotations

from sqlalchemy import func, select

from crm.models import JobRun


def test_analyst_cannot_start_the_refresh_nor_sees_the_button(make, signed_in, session):
    analyst = signed_in(make.user(None, role="alliance_analyst"))
    page = analyst.get("/alliance/")
    assert page.status_code == 200
    assert "alliance/refresh" not in page.get_data(as_text=True)
    assert analyst.post("/alliance/refresh").status_code == 404
    assert session.scalar(select(func.count(JobRun.id))) == 0


def test_admin_sees_the_refresh_button(make, signed_in):
    admin = signed_in(make.user(None, role="alliance_admin"))
    page = admin.get("/alliance/").get_data(as_text=True)
    assert 'action="/alliance/refresh"' in page
