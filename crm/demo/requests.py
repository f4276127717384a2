"""Demo partner requests: each association's calls for partners, and the interests
the other associations express for their published organisations, some accepted
(with the contact persons exchanged), some declined, withdrawn or still pending.

Run after the profiles are published (``seed-demo`` does so); about 300 requests
at scale 1. Rows are written per association in its own scope, as row-level
security requires: requests by the requester, interests and their contacts by the
interested association, answers by the requester. Like the rest of the demo, no
audit events: they would say nothing.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select, update

from crm.models import (
    Contact,
    Ecosystem,
    Organisation,
    PartnerInterest,
    PartnerProfile,
    PartnerRequest,
    Programme,
    SharedContact,
    Tenant,
    User,
)
from crm.models.organisation import KINDS
from crm.models.partner_request import bars
from crm.tenancy import all_tenants, tenant_scope

REQUESTS_AT_SCALE_ONE = 300
TOPICS = (
    ("Pilot sites for collaborative robots", "Robotics and automation in SMEs"),
    ("Hydrogen valley demonstrator", "Renewable hydrogen for industrial clusters"),
    ("Circular textiles consortium", "Recycling and traceability of textile fibres"),
    ("Digital twins for food processing", "Data spaces for agri-food value chains"),
    ("Smart health devices validation", "Clinical validation of medical devices"),
    ("Green port logistics", "Low-emission logistics for ports and hinterland"),
    ("Battery materials recovery", "Critical raw materials from end-of-life batteries"),
    ("Tourism data platform", "Sustainable and digital tourism destinations"),
    ("Cybersecurity for manufacturing", "Secure industrial control systems for SMEs"),
    ("Construction 4.0 renovation wave", "Industrialised building renovation"),
)
ROLES = ("research partner", "end user", "pilot site", "technology provider", "SME partner")


def _moment(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, time(rng.randint(8, 18), rng.randint(0, 59)), tzinfo=UTC)


def seed_requests(session, seed_value: int, scale: float, today: date) -> dict[str, int]:
    """Generate and write the demo's requests, interests and shared contacts."""
    rng = random.Random(f"{seed_value}:requests")
    with all_tenants():
        tenants = session.execute(select(Tenant.id, Tenant.slug).order_by(Tenant.id)).all()
    secretariats: dict[int, tuple[str, str]] = {}
    programmes = list(session.scalars(select(Programme.code).order_by(Programme.code)))
    ecosystems = list(session.scalars(select(Ecosystem.code).order_by(Ecosystem.id)))
    per_tenant = max(2, round(REQUESTS_AT_SCALE_ONE * scale / max(len(tenants), 1)))
    requests: list[PartnerRequest] = []
    published: dict[int, list[PartnerProfile]] = {}
    for tid, _slug in tenants:
        with tenant_scope(tid):  # users are read in their own association's scope
            secretariats[tid] = session.execute(
                select(User.name, User.email)
                .where(User.tenant_id == tid, User.role == "secretariat")
                .order_by(User.id)
                .limit(1)
            ).one()
            clusters = session.execute(
                select(Organisation.id, Organisation.name, Organisation.country)
                .where(Organisation.kind == "cluster", Organisation.is_external.is_(False),
                       Organisation.archived.is_(False))
                .order_by(Organisation.id)
            ).all()  # fmt: skip
            published[tid] = list(
                session.scalars(
                    select(PartnerProfile)
                    .where(PartnerProfile.tenant_id == tid)
                    .order_by(PartnerProfile.id)
                )
            )
            for _ in range(per_tenant if clusters else 0):
                oid, name, country = rng.choice(clusters)
                title, topic = rng.choice(TOPICS)
                created = today - timedelta(days=rng.randint(1, 300))
                deadline = created + timedelta(days=rng.randint(20, 150))
                closed = rng.random() < 0.1
                request = PartnerRequest(
                    tenant_id=tid,
                    organisation_id=oid,
                    organisation_name=name,
                    organisation_country=country,
                    title=title,
                    programme_code=rng.choice(programmes),
                    call_identifier=f"CALL-{today.year}-{rng.randint(1, 40):02d}",
                    topic=topic,
                    deadline=deadline,
                    roles_sought=", ".join(rng.sample(ROLES, rng.randint(1, 2))),
                    kinds=bars(rng.sample(sorted(KINDS), rng.randint(0, 2))),
                    size_classes="|",
                    ecosystem_codes=bars(rng.sample(ecosystems, rng.randint(0, 2))),
                    countries="|",
                    description=f"{name} is building a consortium: {topic.lower()}. "
                    "We are looking for complementary partners with proven experience.",
                    created_at=_moment(created, rng),
                    closed_at=_moment(min(deadline, today), rng) if closed else None,
                )
                session.add(request)
                requests.append(request)
            session.flush()
        session.commit()
    # Interests, grouped by the interested association (who writes them).
    interests: dict[int, list[PartnerInterest]] = defaultdict(list)
    for request in requests:
        others = [tid for tid, _ in tenants if tid != request.tenant_id and published[tid]]
        for tid in rng.sample(others, min(len(others), rng.randint(0, 4))):
            profile = rng.choice(published[tid])
            created = request.created_at + timedelta(days=rng.randint(1, 20))
            if created.date() > today:
                continue
            interests[tid].append(
                PartnerInterest.answering(
                    request,
                    tid,
                    profile.organisation_id,
                    profile,
                    message=f"{profile.name} would bring "
                    f"{(profile.capabilities or 'its expertise').lower()}.",
                    created_at=created,
                )
            )
    answers: dict[int, list[tuple[PartnerInterest, str, datetime]]] = defaultdict(list)
    for tid, rows in interests.items():
        with tenant_scope(tid):
            session.add_all(rows)
            session.flush()
            contacts = _contacts(session, [i.organisation_id for i in rows])
            for interest in rows:
                name, email = contacts.get(interest.organisation_id) or secretariats[tid]
                session.add(_share(interest, tid, name, email, interest.organisation_name))
                roll = rng.random()
                if roll < 0.45:
                    at = interest.created_at + timedelta(days=rng.randint(1, 15))
                    if at.date() <= today:
                        answers[interest.request_tenant_id].append(
                            (interest, "accepted" if roll < 0.33 else "declined", at)
                        )
                elif roll < 0.5:
                    interest.status = "withdrawn"
                    interest.withdrawn_at = interest.created_at + timedelta(days=2)
            session.flush()
        session.commit()
    accepted = 0
    for tid, rows in answers.items():
        with tenant_scope(tid):
            for interest, status, at in rows:
                session.execute(
                    update(PartnerInterest)
                    .where(PartnerInterest.id == interest.id)
                    .values(status=status, decided_at=at)
                    .execution_options(synchronize_session=False)
                )
                if status == "accepted":
                    accepted += 1
                    name, email = secretariats[tid]
                    request_org = next(r for r in requests if r.id == interest.request_id)
                    session.add(_share(interest, tid, name, email, request_org.organisation_name))
            session.flush()
        session.commit()
    return {
        "partner_requests": len(requests),
        "partner_interests": sum(len(r) for r in interests.values()),
        "accepted matches": accepted,
    }


def _contacts(session, organisation_ids: list[int]) -> dict[int, tuple[str, str]]:
    """The first contact with an e-mail address of each organisation (in scope)."""
    out: dict[int, tuple[str, str]] = {}
    rows = session.execute(
        select(Contact.organisation_id, Contact.first_name, Contact.last_name, Contact.email)
        .where(Contact.organisation_id.in_(set(organisation_ids)), Contact.email.is_not(None),
               Contact.erased_at.is_(None))
        .order_by(Contact.organisation_id, Contact.id)
    )  # fmt: skip
    for oid, first, last, email in rows:
        out.setdefault(oid, (f"{first} {last}", email))
    return out


def _share(interest, tenant_id: int, name: str, email: str, org_name: str) -> SharedContact:
    return SharedContact(
        interest_id=interest.id,
        tenant_id=tenant_id,
        name=name,
        organisation_name=org_name,
        email=email,
        created_at=interest.created_at,
    )
