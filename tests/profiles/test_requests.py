"""Partner requests: posting, interest, acceptance, contacts only after it, notifications."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from crm.models import PartnerInterest, PartnerRequest, SharedContact
from crm.partner_requests import services
from crm.profiles import services as profiles
from crm.tenancy import tenant_scope

RECTOR = "rector@p.lodz.pl"


@pytest.fixture
def posted(alliance, make, session):
    """B (ES) posts a request for its cluster; A's university (published) is the candidate."""
    cluster = make.cluster(alliance.b, name="Basque Advanced Manufacturing Cluster")
    make.contact(cluster, first_name="Iker", last_name="Etxeberria", email="iker@bamc.example")
    request = make.partner_request(cluster, title="Pilot sites for cobots", topic="Robotics")
    with tenant_scope(alliance.a.id):
        rector = session.scalar(select(services.Contact).where(services.Contact.email == RECTOR))
    return request, cluster, rector


def _count(session, model, tenant_id) -> int:
    """Rows the association wrote (these tables are not scoped automatically)."""
    with tenant_scope(tenant_id):
        query = select(func.count()).select_from(model).where(model.tenant_id == tenant_id)
        return session.scalar(query) or 0


def test_a_request_is_posted_and_seen_alliance_wide(alliance, make, session, signed_in):
    cluster = make.cluster(alliance.b, name="Basque Advanced Manufacturing Cluster")
    # A cluster manager posts for their own cluster.
    client = signed_in(make.user(alliance.b, role="cluster_manager", cluster=cluster))
    response = client.post(
        f"/{alliance.b.slug}/requests/new",
        data={
            "organisation_id": cluster.id,
            "title": "Partners for a twin transition pilot",
            "programme_code": "HE",
            "call_identifier": "HORIZON-CL4-2025-TWIN-TRANSITION-01-02",
            "deadline": (date.today() + timedelta(days=20)).isoformat(),
            "kinds": ["university", "research_org"],
            "countries": ["PL", "DE"],
            "description": "We seek a research partner for robotics pilots.",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    page = signed_in(alliance.users_a["secretariat"]).get(f"/{alliance.a.slug}/requests")
    text = page.get_data(as_text=True)
    assert "Partners for a twin transition pilot" in text
    assert "Basque Advanced Manufacturing Cluster (ES)" in text
    filtered = signed_in(alliance.users_a["secretariat"]).get(
        f"/{alliance.a.slug}/requests?kind=firm"
    )
    assert "twin transition" not in filtered.get_data(as_text=True)


def test_bad_requests_re_render_with_field_errors(alliance, make, signed_in):
    cluster = make.cluster(alliance.b)
    uni_id = alliance.uni.id
    client = signed_in(alliance.users["secretariat"])
    response = client.post(
        f"/{alliance.b.slug}/requests/new",
        data={
            "organisation_id": cluster.id,
            "title": "",
            "programme_code": "HE",
            "deadline": (date.today() - timedelta(days=1)).isoformat(),
            "description": "x",
        },
    )
    assert response.status_code == 422
    # Another association's organisation is not offered, and refused.
    response = client.post(
        f"/{alliance.b.slug}/requests/new",
        data={
            "organisation_id": uni_id,
            "title": "t",
            "programme_code": "HE",
            "deadline": (date.today() + timedelta(days=3)).isoformat(),
            "description": "x",
        },
    )
    assert response.status_code == 422


def test_contacts_are_exchanged_only_after_acceptance_and_only_the_chosen(
    alliance, posted, make, session, signed_in
):
    request, cluster, rector = posted
    make.contact(alliance.uni, first_name="Other", last_name="Person", email="other@p.lodz.pl")
    a_client = signed_in(alliance.users_a["secretariat"])
    response = a_client.post(
        f"/{alliance.a.slug}/requests/{request.id}/interest",
        data={"organisation_id": alliance.uni.id, "contact": f"c{rector.id}",
              "message": "Our robotics lab fits."},
    )  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)

    b_client = signed_in(alliance.users["secretariat"])
    page = b_client.get(f"/{alliance.b.slug}/requests/{request.id}").get_data(as_text=True)
    assert "Politechnika Łódzka" in page and "Our robotics lab fits." in page
    assert RECTOR not in page and "Shown once you accept" in page
    # Nor through the interested side's page or the notifications.
    assert RECTOR not in b_client.get(f"/{alliance.b.slug}/notifications").get_data(as_text=True)
    # A sees nothing of B's contacts yet.
    a_page = a_client.get(f"/{alliance.a.slug}/requests/{request.id}").get_data(as_text=True)
    assert "iker@bamc.example" not in a_page

    with tenant_scope(alliance.b.id):
        interest = session.scalar(select(PartnerInterest))
        iker = session.scalar(
            select(services.Contact).where(services.Contact.organisation_id == cluster.id)
        )
    response = b_client.post(
        f"/{alliance.b.slug}/requests/{request.id}/interests/{interest.id}/accept",
        data={"contact": f"c{iker.id}"},
    )
    assert response.status_code == 302
    page = b_client.get(f"/{alliance.b.slug}/requests/{request.id}").get_data(as_text=True)
    assert RECTOR in page and "other@p.lodz.pl" not in page
    a_page = a_client.get(f"/{alliance.a.slug}/requests/{request.id}").get_data(as_text=True)
    assert "iker@bamc.example" in a_page and "Accepted" in a_page
    # A third association sees the request, but no interest and no contact.
    c = make.tenant(country="FR")
    c_page = signed_in(make.user(c)).get(f"/{c.slug}/requests/{request.id}")
    assert c_page.status_code == 200
    c_text = c_page.get_data(as_text=True)
    assert "Pilot sites for cobots" in c_text
    assert "Politechnika" not in c_text and RECTOR not in c_text and "iker@" not in c_text


def test_declined_interests_exchange_nothing(alliance, posted, make, session, signed_in):
    request, _, rector = posted
    interest = make.interest(request, alliance.uni, rector)
    b_client = signed_in(alliance.users["secretariat"])
    path = f"/{alliance.b.slug}/requests/{request.id}/interests/{interest.id}/decline"
    assert b_client.post(path, data={}).status_code == 302
    with tenant_scope(alliance.a.id):
        assert session.scalar(select(PartnerInterest.status)) == "declined"
    a_page = signed_in(alliance.users_a["secretariat"]).get(
        f"/{alliance.a.slug}/requests/{request.id}"
    )
    assert "Declined" in a_page.get_data(as_text=True)
    assert _count(session, SharedContact, alliance.b.id) == 0


def test_answering_twice_answers_once(alliance, posted, make, session):
    """Two users accept at once: the second finds the interest answered and changes nothing."""
    request, _, rector = posted
    interest = make.interest(request, alliance.uni, rector)
    user = alliance.users["secretariat"]
    with tenant_scope(alliance.b.id):
        mine = session.get(PartnerInterest, interest.id)
        # The other user's answer lands first; this user's copy still says "pending".
        session.execute(
            services.decision(interest.id, "declined").execution_options(synchronize_session=False)
        )
        assert mine.status == "pending"
        assert services.decide(session, mine, True, user) is False
        session.refresh(mine)
        assert mine.status == "declined"
        shares = session.scalar(
            select(func.count())
            .select_from(SharedContact)
            .where(
                SharedContact.interest_id == interest.id, SharedContact.tenant_id == alliance.b.id
            )
        )
    assert shares == 0


@pytest.mark.parametrize("state", ["closed", "expired"])
def test_no_interest_in_a_closed_or_expired_request(alliance, posted, session, signed_in, state):
    request, _, rector = posted
    with tenant_scope(alliance.b.id):
        if state == "closed":
            services.close_request(session, request)
        else:
            request.deadline = date.today() - timedelta(days=1)
            session.flush()
    response = signed_in(alliance.users_a["secretariat"]).post(
        f"/{alliance.a.slug}/requests/{request.id}/interest",
        data={"organisation_id": alliance.uni.id, "contact": f"c{rector.id}"},
    )
    assert response.status_code == 422
    assert f"This request is {state}" in response.get_data(as_text=True)
    assert _count(session, PartnerInterest, alliance.a.id) == 0
    # And it leaves the alliance's list of open requests.
    listing = signed_in(alliance.users_a["secretariat"]).get(f"/{alliance.a.slug}/requests")
    assert "Pilot sites for cobots" not in listing.get_data(as_text=True)


def test_interest_only_for_own_published_organisations(alliance, posted, make, session, signed_in):
    request, cluster, _ = posted
    cluster_id = cluster.id
    client = signed_in(alliance.users_a["secretariat"])
    path = f"/{alliance.a.slug}/requests/{request.id}/interest"
    for org_id in (alliance.secret.id, cluster_id, 2**31 - 1):
        response = client.post(path, data={"organisation_id": org_id, "contact": "me"})
        assert response.status_code in (404, 422), org_id
        assert _count(session, PartnerInterest, alliance.a.id) == 0
    # The secret (unpublished) firm is not even offered.
    page = client.get(f"/{alliance.a.slug}/requests/{request.id}").get_data(as_text=True)
    assert "Secret Hydrogen" not in page
    # An association never answers its own request.
    own = signed_in(alliance.users["secretariat"]).post(
        f"/{alliance.b.slug}/requests/{request.id}/interest",
        data={"organisation_id": cluster_id, "contact": "me"},
    )
    assert own.status_code == 404


def test_withdrawing_consent_withdraws_pending_interests(
    alliance, posted, make, session, signed_in
):
    request, _, rector = posted
    make.interest(request, alliance.uni, rector)
    with tenant_scope(alliance.a.id):
        profiles.withdraw(session, alliance.uni)
        assert session.scalar(select(PartnerInterest.status)) == "withdrawn"
    page = signed_in(alliance.users["secretariat"]).get(f"/{alliance.b.slug}/requests/{request.id}")
    assert "Withdrawn" in page.get_data(as_text=True)


def test_notifications_count_and_list(alliance, posted, make, session, signed_in):
    request, _, rector = posted
    b_client = signed_in(alliance.users["secretariat"])
    assert 'aria-label="1 new"' not in b_client.get(f"/{alliance.b.slug}/requests").get_data(
        as_text=True
    )
    with tenant_scope(alliance.a.id):  # the fixture's rows expired with the request's commit
        interest = make.interest(request, alliance.uni, rector)
    page = b_client.get(f"/{alliance.b.slug}/requests").get_data(as_text=True)
    assert 'aria-label="1 new"' in page
    listing = b_client.get(f"/{alliance.b.slug}/notifications").get_data(as_text=True)
    assert "Politechnika Łódzka expressed interest in your request" in listing
    again = b_client.get(f"/{alliance.b.slug}/notifications")  # read once: no longer new
    assert again.status_code == 200 and "<mark>new</mark>" not in again.get_data(as_text=True)
    assert 'aria-label="1 new"' not in b_client.get(f"/{alliance.b.slug}/requests").get_data(
        as_text=True
    )
    # The answer is news for the interested association.
    with tenant_scope(alliance.b.id):
        services.decide(session, interest, True, alliance.users["secretariat"])
    a_client = signed_in(alliance.users_a["secretariat"])
    assert 'aria-label="1 new"' in a_client.get(f"/{alliance.a.slug}/requests").get_data(
        as_text=True
    )
    assert "was accepted for the request" in a_client.get(
        f"/{alliance.a.slug}/notifications"
    ).get_data(as_text=True)


def test_only_the_requesters_association_closes_and_answers(
    alliance, posted, make, session, signed_in
):
    request, _, rector = posted
    interest_id = make.interest(request, alliance.uni, rector).id
    a_client = signed_in(alliance.users_a["secretariat"])
    base = f"/{alliance.a.slug}/requests/{request.id}"
    for path in (f"{base}/close", f"{base}/interests/{interest_id}/accept",
                 f"{base}/interests/{interest_id}/decline"):  # fmt: skip
        assert a_client.post(path, data={"contact": "me"}).status_code == 404, path
    with tenant_scope(alliance.b.id):
        found = session.get(PartnerRequest, request.id)
        assert found.closed_at is None
    # B cannot withdraw A's interest either.
    b_client = signed_in(alliance.users["secretariat"])
    withdraw = f"/{alliance.b.slug}/requests/{request.id}/interests/{interest_id}/withdraw"
    assert b_client.post(withdraw).status_code == 404
    with tenant_scope(alliance.a.id):
        assert session.scalar(select(PartnerInterest.status)) == "pending"
