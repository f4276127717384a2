"""Small factories for test data. Each returns a flushed ORM object."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from crm.accounts.definer import insert_tenant
from crm.accounts.passwords import hash_password
from crm.models import (
    Activity,
    AssociationMembership,
    ClusterMembership,
    Contact,
    Mailing,
    Organisation,
    Participation,
    Payment,
    Project,
    Segment,
    Tag,
    Tenant,
    User,
)
from crm.tenancy import alliance_scope, scope_of_user, tenant_scope

PASSWORD = "correct horse battery staple"
_PASSWORD_HASH = hash_password(PASSWORD)  # argon2 is slow on purpose: hash once
_seq = itertools.count(1)


class Factories:
    def __init__(self, session):
        self.session = session

    def _add(self, obj, tenant_id=None):
        with tenant_scope(tenant_id):
            self.session.add(obj)
            self.session.flush()
        return obj

    def tenant(self, slug=None, country="FR", name=None) -> Tenant:
        n = next(_seq)
        slug = slug or f"assoc-{n}"
        # As the app would: the app role cannot write tenants (PostgreSQL).
        with alliance_scope():
            return insert_tenant(
                self.session, slug=slug, name=name or f"Association {n}", country=country
            )

    def user(
        self, tenant=None, role="secretariat", cluster=None, email=None, active=True, language="en"
    ) -> User:
        """English unless ``language`` says otherwise (None: the association's), so that
        tests read the interface's English text whatever the association's country."""
        n = next(_seq)
        user = User(
            email=email or f"user{n}@example.org",
            password_hash=_PASSWORD_HASH,
            name=f"User {n}",
            role=role,
            tenant_id=tenant.id if tenant else None,
            cluster_id=cluster.id if cluster else None,
            active=active,
            language=language,
        )
        return self._add(user, scope_of_user(user.tenant_id))  # RLS on users

    def org(self, tenant, kind="firm", name=None, **fields) -> Organisation:
        n = next(_seq)
        org = Organisation(
            tenant_id=tenant.id,
            kind=kind,
            name=name or f"{kind.title()} {n}",
            country=fields.pop("country", tenant.country),
            **fields,
        )
        org.refresh_size_class()
        return self._add(org, tenant.id)

    def cluster(self, tenant, name=None, **fields) -> Organisation:
        return self.org(tenant, kind="cluster", name=name, **fields)

    def membership(self, org, status="active", **fields) -> AssociationMembership:
        fields.setdefault("joined_on", date(2020, 1, 1))
        return self._add(
            AssociationMembership(
                tenant_id=org.tenant_id, organisation_id=org.id, status=status, **fields
            ),
            org.tenant_id,
        )

    def cluster_member(self, cluster, member, since=None) -> ClusterMembership:
        return self._add(
            ClusterMembership(
                tenant_id=cluster.tenant_id, cluster_id=cluster.id, member_id=member.id, since=since
            ),
            cluster.tenant_id,
        )

    def payment(self, membership, amount="100.00", **fields) -> Payment:
        """A payment row as stored (``crm.renewals.services.record_payment`` also
        moves paid_until; this only writes the row)."""
        paid_on = fields.pop("paid_on", date(2026, 1, 15))
        fields.setdefault("period_from", paid_on)
        fields.setdefault("period_to", paid_on + timedelta(days=364))
        fields.setdefault("currency", "EUR")
        fields.setdefault("method", "transfer")
        return self._add(
            Payment(
                tenant_id=membership.tenant_id,
                membership_id=membership.id,
                amount=Decimal(amount),
                paid_on=paid_on,
                **fields,
            ),
            membership.tenant_id,
        )

    def activity(self, org, kind="note", contact=None, **fields) -> Activity:
        n = next(_seq)
        fields.setdefault("subject", f"Activity {n}")
        fields.setdefault("occurred_at", datetime(2026, 3, 1, 10, 0, tzinfo=UTC))
        return self._add(
            Activity(
                tenant_id=org.tenant_id,
                organisation_id=org.id,
                contact_id=contact.id if contact else None,
                kind=kind,
                **fields,
            ),
            org.tenant_id,
        )

    def mailing(self, tenant, status="draft", **fields) -> Mailing:
        n = next(_seq)
        fields.setdefault("name", f"Mailing {n}")
        fields.setdefault("purpose", "membership")
        fields.setdefault("subject", "News for {{ organisation }}")
        fields.setdefault("body", "Dear {{ contact.first_name }},\n")
        fields.setdefault("audience", {"kind": "directory", "args": {}})
        return self._add(
            Mailing(tenant_id=tenant.id, kind="mailing", status=status, **fields), tenant.id
        )

    def contact(self, org, **fields) -> Contact:
        n = next(_seq)
        fields.setdefault("first_name", "Ana")
        fields.setdefault("last_name", f"Contact{n}")
        fields.setdefault("email", f"contact{n}@example.org")
        return self._add(
            Contact(tenant_id=org.tenant_id, organisation_id=org.id, **fields), org.tenant_id
        )

    def tag(self, tenant, name=None) -> Tag:
        return self._add(Tag(tenant_id=tenant.id, name=name or f"Tag {next(_seq)}"), tenant.id)

    def tagged(self, tag, *rows) -> None:
        """Put ``tag`` on organisations and contacts (as ``crm.tags.services`` does)."""
        from crm.tags import services

        with tenant_scope(tag.tenant_id):
            for row in rows:
                kind = "contacts" if isinstance(row, Contact) else "organisations"
                ids = services.ids_of(tag.tenant_id, kind, [row.id])
                services.tag_rows(self.session, tag.tenant_id, tag, kind, ids)

    def segment(self, tenant, name=None, filters=None, source="members") -> Segment:
        segment = Segment(
            tenant_id=tenant.id,
            name=name or f"Segment {next(_seq)}",
            source=source,
            filters=filters or {},
        )
        return self._add(segment, tenant.id)

    def project(
        self, tenant, programme="HE", status="funded", grant_number=None, **fields
    ) -> Project:
        n = next(_seq)
        project = Project(
            tenant_id=tenant.id,
            programme_code=programme,
            acronym=fields.pop("acronym", f"PRJ{n}"),
            title=fields.pop("title", f"Project {n}"),
            status=status,
            total_budget=fields.pop("total_budget", Decimal("1000000")),
            **fields,
        )
        project.set_grant_number(grant_number)
        return self._add(project, tenant.id)

    def participation(self, project, org, role="partner", budget_share=None) -> Participation:
        return self._add(
            Participation(
                tenant_id=project.tenant_id,
                project_id=project.id,
                organisation_id=org.id,
                role=role,
                budget_share=budget_share,
            ),
            project.tenant_id,
        )

    def partner_request(self, org, today=None, **fields):
        """A partner request posted for ``org`` by its association (``crm.partner_requests``)."""
        from crm.partner_requests import services

        today = today or date.today()
        values = {
            "title": f"Partners sought {next(_seq)}",
            "programme_code": "HE",
            "deadline": today + timedelta(days=30),
            "description": "Looking for a research partner.",
            **fields,
        }
        with tenant_scope(org.tenant_id):
            return services.post_request(
                self.session, org, services.RequestFields(**values), None, today
            )

    def interest(self, request, org, person, message="We can help.", today=None):
        """``org``'s association expresses interest in ``request``, sharing ``person``."""
        from crm.partner_requests import services

        with tenant_scope(org.tenant_id):
            return services.express_interest(
                self.session, request, org, message, person, None, today or date.today()
            )

    def import_batch(self, tenant, kind="organisations", content=None, **fields):
        from crm.models import ImportBatch

        content = content or b"name;city\nAcme;Lyon\n"
        fields.setdefault("filename", "members.csv")
        fields.setdefault("file_format", "csv")
        fields.setdefault("headers", ["name", "city"])
        fields.setdefault("mapping", {"name": "name", "city": "city"})
        fields.setdefault("row_count", 1)
        return self._add(
            ImportBatch(tenant_id=tenant.id, kind=kind, content=content, **fields), tenant.id
        )
