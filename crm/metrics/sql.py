"""Set-based SQL for every metric, run in the database over the cross-tenant engine.

Each metric is a *base* query that yields one row per thing counted, with the
columns ``tid`` (tenant), ``tcountry`` (the tenant's country), ``d1``, ``d2``
(dimensions), ``ent`` (what is counted), ``amount``, ``num`` and ``den``. One
aggregation turns it into the rows of a snapshot: per tenant, per tenant
country and alliance-wide in a single pass (``GROUPING SETS`` on PostgreSQL;
SQLite, the embedded default, gets the equivalent ``UNION ALL``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from crm.metrics.definitions import LAPSE_GRACE_DAYS

FUNDED = "('funded', 'running', 'closed')"
DECIDED = "('funded', 'running', 'closed', 'rejected')"
SME = "('micro', 'small', 'medium')"

# Levels of an aggregated row.
TENANT, COUNTRY, TOTAL = "tenant", "country", "total"


@dataclass(frozen=True)
class Dialect:
    name: str

    def quarter(self, col: str) -> str:
        if self.name == "postgresql":
            return f"to_char({col}, 'YYYY\"-Q\"Q')"
        month = f"CAST(strftime('%m', {col}) AS INTEGER)"
        return f"strftime('%Y', {col}) || '-Q' || (({month} + 2) / 3)"

    def plus_days(self, col: str, days: int) -> str:
        if self.name == "postgresql":
            return f"({col} + {int(days)})"
        return f"date({col}, '+{int(days)} days')"

    def year(self, col: str) -> str:
        if self.name == "postgresql":
            return f"COALESCE(to_char({col}, 'YYYY'), 'unknown')"
        return f"COALESCE(strftime('%Y', {col}), 'unknown')"


def _tenant_filter(tenant_id: int | None) -> Callable[..., str]:
    def condition(alias: str, column: str = "tenant_id") -> str:
        return "" if tenant_id is None else f" AND {alias}.{column} = :tenant_id"

    return condition


_COLS = "{d1} AS d1, {d2} AS d2, {ent} AS ent, {amount} AS amount, {num} AS num, {den} AS den"


def _select(
    tenant_col: str,
    frm: str,
    d1: str = "''",
    d2: str = "''",
    ent: str = "NULL",
    amount: str = "0",
    num: str = "0",
    den: str = "0",
    tcountry: str = "t.country",
) -> str:
    cols = _COLS.format(d1=d1, d2=d2, ent=ent, amount=amount, num=num, den=den)
    return f"SELECT {tenant_col} AS tid, {tcountry} AS tcountry, {cols} {frm}"


# The association's network on the day: an active membership of the association, or a
# current membership of one of its clusters that is not archived (an archived cluster
# no longer runs; its member lists stay for the record). Archived organisations are left
# out by the caller. A set joined once, not a correlated EXISTS per organisation: without
# statistics (right after a bulk load) the planner ran those as a scan per row.
def _network(tf) -> str:
    return (
        "SELECT am.tenant_id, am.organisation_id AS id FROM association_memberships am "
        f"WHERE am.status = 'active'{tf('am')} UNION "
        "SELECT cm.tenant_id, cm.member_id FROM cluster_memberships cm "
        "JOIN organisations c ON c.tenant_id = cm.tenant_id AND c.id = cm.cluster_id "
        f"WHERE NOT c.archived AND (cm.until IS NULL OR cm.until >= CURRENT_DATE){tf('cm')}"
    )


# Facts shared by several metrics, computed once per refresh into temporary tables
# (dropped with the transaction's end or by ``teardown``): one row per participation
# with its project and organisation, one row per member with whether it takes part in
# a funded project, and one row per grant with how many associations and countries it
# spans. Every metric then reads these instead of joining the big tables again.
PARTS, MEMBERS, GRANTS = "tmp_metric_parts", "tmp_metric_members", "tmp_metric_grants"
# One row per member and CORDIS grant it takes part in (crm.cordis matching: by PIC,
# else by VAT number), with whether the association records it.
CORDIS = "tmp_metric_cordis"
TEMP_TABLES = (CORDIS, GRANTS, MEMBERS, PARTS)
# "Two or more distinct values" without COUNT(DISTINCT), which forces a sort per group:
# the smallest and the largest differ (NULLs are ignored by both, as by COUNT).
TWO_OR_MORE = "CASE WHEN MIN({0}) < MAX({0}) THEN 1 ELSE 0 END"


def _facts(q: Dialect, tf) -> list[str]:
    parts = (
        f"CREATE TEMPORARY TABLE {PARTS} AS "
        "SELECT pa.tenant_id AS tid, t.country AS tcountry, pa.id, pa.project_id, "
        "pa.organisation_id, p.programme_code, p.status, "
        f"{q.year('p.start_date')} AS year, p.grant_key, o.kind, o.size_class, o.country, "
        "o.is_external, "
        "eco.lo AS eco_lo, eco.hi AS eco_hi "
        "FROM participations pa "
        "JOIN projects p ON p.tenant_id = pa.tenant_id AND p.id = pa.project_id "
        "JOIN organisations o ON o.tenant_id = pa.tenant_id AND o.id = pa.organisation_id "
        "JOIN tenants t ON t.id = pa.tenant_id "
        # The organisation's lowest and highest ecosystem: a project's participants span
        # two or more ecosystems when the lowest of the lows is below the highest high.
        "LEFT JOIN (SELECT tenant_id, organisation_id, MIN(ecosystem_id) AS lo, "
        f"MAX(ecosystem_id) AS hi FROM organisation_ecosystems oe WHERE 1 = 1{tf('oe')} "
        "GROUP BY tenant_id, organisation_id) eco "
        "ON eco.tenant_id = pa.tenant_id AND eco.organisation_id = pa.organisation_id "
        f"WHERE 1 = 1{tf('pa')}"
    )
    members = (
        f"CREATE TEMPORARY TABLE {MEMBERS} AS "
        "SELECT o.tenant_id AS tid, t.country AS tcountry, o.id, o.kind, o.size_class, "
        "o.country, o.nuts2, o.employees, o.pic, o.vat_id, "
        "CASE WHEN f.organisation_id IS NULL THEN 0 ELSE 1 END AS in_funded "
        "FROM organisations o JOIN tenants t ON t.id = o.tenant_id "
        f"JOIN ({_network(tf)}) m ON m.tenant_id = o.tenant_id AND m.id = o.id "
        f"LEFT JOIN (SELECT DISTINCT tid, organisation_id FROM {PARTS} "
        f"WHERE status IN {FUNDED}) f ON f.tid = o.tenant_id AND f.organisation_id = o.id "
        # External partners have no membership, so the network leaves them out
        # already; said here too, so no member figure can ever count one.
        f"WHERE NOT o.archived AND NOT o.is_external{tf('o')}"
    )
    # A grant is shared when two or more associations record it (their projects, with or
    # without participations), and crosses borders when its participants, across every
    # association's records, are in two or more countries. A tenant's refresh looks
    # only at the grants that tenant records, but across all associations.
    if tf("x"):
        mine = (
            "JOIN (SELECT DISTINCT programme_code, grant_key FROM projects "
            "WHERE grant_key IS NOT NULL AND tenant_id = :tenant_id) mine "
            "ON mine.programme_code = {a}.programme_code AND mine.grant_key = {a}.grant_key "
        )
        countries = (
            "SELECT gp.programme_code, gp.grant_key, "
            f"{TWO_OR_MORE.format('go.country')} AS border "
            "FROM projects gp "
            "JOIN participations gpa ON gpa.tenant_id = gp.tenant_id AND gpa.project_id = gp.id "
            "JOIN organisations go ON go.tenant_id = gpa.tenant_id "
            f"AND go.id = gpa.organisation_id {mine.format(a='gp')}"
            "GROUP BY gp.programme_code, gp.grant_key"
        )
        tenants_from = f"FROM projects g {mine.format(a='g')}WHERE g.grant_key IS NOT NULL "
    else:
        countries = (
            f"SELECT programme_code, grant_key, {TWO_OR_MORE.format('country')} AS border "
            f"FROM {PARTS} WHERE grant_key IS NOT NULL GROUP BY programme_code, grant_key"
        )
        tenants_from = "FROM projects g WHERE g.grant_key IS NOT NULL "
    grants = (
        f"CREATE TEMPORARY TABLE {GRANTS} AS "
        "SELECT s.programme_code, s.grant_key, s.shared, COALESCE(c.border, 0) AS border "
        "FROM (SELECT g.programme_code, g.grant_key, "
        f"{TWO_OR_MORE.format('g.tenant_id')} AS shared "
        f"{tenants_from}GROUP BY g.programme_code, g.grant_key) s "
        f"LEFT JOIN ({countries}) c "
        "ON c.programme_code = s.programme_code AND c.grant_key = s.grant_key"
    )
    return [parts, members, grants, _cordis_facts(tf)]


def _cordis_facts(tf) -> str:
    """Members' CORDIS participations, matched as the reconciliation matches them
    (``crm.cordis.queries.matches``: an organisation with a PIC by it alone, else by its
    VAT number), one row per member and grant: ``recorded`` when the association has a
    project of that grant key in which the member takes part, ``pic_sme`` when CORDIS
    flags the member an SME in a row matched by its PIC. A participation the association
    dismissed (not to be recorded) is left out, unless it was recorded all the same."""
    sme = "CASE WHEN cp.sme THEN 1 ELSE 0 END"
    matched = (
        f"SELECT m.tid, m.tcountry, m.id, cp.grant_key, {sme} AS pic_sme FROM {MEMBERS} m "
        "JOIN cordis_participants cp ON cp.pic = m.pic WHERE m.pic IS NOT NULL "
        f"UNION ALL SELECT m.tid, m.tcountry, m.id, cp.grant_key, 0 FROM {MEMBERS} m "
        "JOIN cordis_participants cp ON cp.vat_number = m.vat_id "
        "WHERE m.pic IS NULL AND m.vat_id IS NOT NULL"
    )
    recorded = (
        f"SELECT DISTINCT tid, organisation_id, grant_key FROM {PARTS} WHERE grant_key IS NOT NULL"
    )
    return (
        f"CREATE TEMPORARY TABLE {CORDIS} AS "
        "SELECT x.tid, x.tcountry, x.id, x.grant_key, MAX(x.pic_sme) AS pic_sme, "
        "CASE WHEN r.grant_key IS NULL THEN 0 ELSE 1 END AS recorded "
        f"FROM ({matched}) x "
        f"LEFT JOIN ({recorded}) r "
        "ON r.tid = x.tid AND r.organisation_id = x.id AND r.grant_key = x.grant_key "
        "LEFT JOIN cordis_dismissals d ON d.tenant_id = x.tid AND d.organisation_id = x.id "
        f"AND d.grant_key = x.grant_key{tf('d')} "
        "WHERE d.tenant_id IS NULL OR r.grant_key IS NOT NULL "
        "GROUP BY x.tid, x.tcountry, x.id, x.grant_key, r.grant_key"
    )


def _from(table: str, extra: str = "", joins: str = "") -> str:
    return f"FROM {table} o {joins}WHERE 1 = 1 {extra}"


def _projects(tf, extra: str = "", joins: str = "") -> str:
    return (
        f"FROM projects p JOIN tenants t ON t.id = p.tenant_id {joins}WHERE 1 = 1{tf('p')} {extra}"
    )


def _memberships(tf, extra: str) -> str:
    return (
        "FROM association_memberships am JOIN tenants t ON t.id = am.tenant_id "
        f"WHERE 1 = 1{tf('am')} {extra}"
    )


def base_queries(q: Dialect, tf) -> dict[str, str]:
    """The base query of every metric (see the module docstring for its columns).

    Member and participation metrics read the fact tables of ``_facts`` (alias ``o``).
    """
    oid = "o.id"
    sel_o = lambda frm, **kw: _select("o.tid", frm, tcountry="o.tcountry", **kw)  # noqa: E731
    sel_p = lambda frm, **kw: _select("p.tenant_id", frm, **kw)  # noqa: E731
    sel_am = lambda frm, **kw: _select("am.tenant_id", frm, **kw)  # noqa: E731
    members = lambda extra="", **kw: _from(MEMBERS, extra, **kw)  # noqa: E731
    parts = lambda extra="", **kw: _from(PARTS, extra, **kw)  # noqa: E731
    grant = "p.programme_code || ':' || p.grant_key"
    grants = (
        f"JOIN {GRANTS} g ON g.programme_code = p.programme_code AND g.grant_key = p.grant_key "
    )
    border_projects = (
        f"SELECT tid, project_id FROM {PARTS} WHERE grant_key IS NULL "
        "GROUP BY tid, project_id HAVING MIN(country) < MAX(country)"
    )
    sector_projects = (
        f"SELECT tid, project_id FROM {PARTS} WHERE status IN {FUNDED} "
        "GROUP BY tid, project_id HAVING MIN(eco_lo) < MAX(eco_hi)"
    )
    # Participants from two or more countries (members and external partners alike).
    international_projects = (
        f"SELECT tid, project_id FROM {PARTS} "
        "GROUP BY tid, project_id HAVING MIN(country) < MAX(country)"
    )
    # Partner requests count for the association that posted them; interests for the one
    # that expressed them; matches (accepted interests) for the requester.
    sel_pi = lambda frm, **kw: _select("pi.request_tenant_id", frm, **kw)  # noqa: E731
    matches = (
        "FROM partner_interests pi JOIN tenants t ON t.id = pi.request_tenant_id "
        "JOIN tenants t2 ON t2.id = pi.tenant_id "
        f"WHERE pi.status = 'accepted' AND pi.decided_at IS NOT NULL{tf('pi', 'request_tenant_id')}"
    )
    # The leaving date of a lapse: as recorded, else (a lapsed membership recorded without
    # one) the end of the grace period after the fees paid.
    left = f"COALESCE(am.left_on, {q.plus_days('am.paid_until', LAPSE_GRACE_DAYS)})"
    funded_flag = f"CASE WHEN p.status IN {FUNDED} THEN 1 ELSE 0 END"
    part_funded = f"CASE WHEN o.status IN {FUNDED} THEN 1 ELSE 0 END"
    return {
        "members": sel_o(members(), ent=oid),
        "members_by_kind": sel_o(members(), d1="o.kind", ent=oid),
        "members_by_size_class": sel_o(
            members("AND o.kind = 'firm'"), d1="COALESCE(o.size_class, 'unknown')", ent=oid
        ),
        "sme_share": sel_o(
            members("AND o.kind = 'firm' AND o.size_class IS NOT NULL"),
            ent=oid,
            num=f"CASE WHEN o.size_class IN {SME} THEN 1 ELSE 0 END",
            den="1",
        ),
        "members_by_ecosystem": sel_o(
            members(
                tf("oe"),  # a tenant's refresh reads only its own tags
                joins="JOIN organisation_ecosystems oe ON oe.tenant_id = o.tid "
                "AND oe.organisation_id = o.id JOIN ecosystems e ON e.id = oe.ecosystem_id ",
            ),
            d1="e.code",
            ent=oid,
        ),
        "members_by_country": sel_o(members(), d1="o.country", ent=oid),
        "members_by_region": sel_o(members(), d1="COALESCE(o.nuts2, 'unknown')", ent=oid),
        "employees": sel_o(
            members("AND o.kind = 'firm' AND o.employees IS NOT NULL"),
            ent=oid,
            amount="o.employees",
        ),
        "joins_by_quarter": sel_am(
            _memberships(tf, "AND am.joined_on IS NOT NULL"),
            d1=q.quarter("am.joined_on"),
            ent="am.id",
        ),
        "lapses_by_quarter": sel_am(
            _memberships(tf, f"AND am.status IN ('lapsed', 'left') AND {left} IS NOT NULL"),
            d1=q.quarter(left),
            ent="am.id",
        ),
        "projects_by_programme_status": sel_p(
            _projects(tf), d1="p.programme_code", d2="p.status", ent="p.id"
        ),
        "projects_by_year": sel_p(_projects(tf), d1=q.year("p.start_date"), ent="p.id"),
        "participations_by_programme_status": sel_o(
            parts(), d1="o.programme_code", d2="o.status", ent=oid
        ),
        "participations_by_year": sel_o(parts(), d1="o.year", ent=oid),
        "international_projects": sel_p(
            _projects(
                tf,
                joins=f"JOIN ({international_projects}) ip ON ip.tid = p.tenant_id "
                "AND ip.project_id = p.id ",
            ),
            d1="p.programme_code",
            d2="p.status",
            ent="p.id",
        ),
        "projects_funded": sel_p(_projects(tf, f"AND p.status IN {FUNDED}"), ent="p.id"),
        "budget_by_programme": sel_p(
            _projects(tf, f"AND p.status IN {FUNDED}"),
            d1="p.programme_code",
            ent="p.id",
            amount="COALESCE(p.total_budget, 0)",
        ),
        "eu_contribution_by_programme": sel_p(
            _projects(tf, f"AND p.status IN {FUNDED}"),
            d1="p.programme_code",
            ent="p.id",
            amount="COALESCE(p.eu_contribution, 0)",
        ),
        "eu_contribution": sel_p(
            _projects(tf, f"AND p.status IN {FUNDED}"),
            ent="p.id",
            amount="COALESCE(p.eu_contribution, 0)",
        ),
        "sme_participation_rate": sel_o(
            members(f"AND o.kind = 'firm' AND o.size_class IN {SME}"),
            ent=oid,
            num="o.in_funded",
            den="1",
        ),
        "success_rate": sel_p(
            _projects(tf, f"AND p.status IN {DECIDED}"), ent="p.id", num=funded_flag, den="1"
        ),
        "success_rate_by_programme": sel_p(
            _projects(tf, f"AND p.status IN {DECIDED}"),
            d1="p.programme_code",
            ent="p.id",
            num=funded_flag,
            den="1",
        ),
        "success_rate_by_size_class": sel_o(
            parts(f"AND o.status IN {DECIDED} AND o.kind = 'firm' AND NOT o.is_external"),
            d1="COALESCE(o.size_class, 'unknown')",
            ent=oid,
            num=part_funded,
            den="1",
        ),
        "cross_association": sel_p(_projects(tf, "AND g.shared = 1", joins=grants), ent=grant),
        "cross_border": (
            sel_p(_projects(tf, "AND g.border = 1", joins=grants), ent=grant)
            + " UNION ALL "
            + sel_p(
                _projects(
                    tf,
                    joins=f"JOIN ({border_projects}) bpr ON bpr.tid = p.tenant_id "
                    "AND bpr.project_id = p.id ",
                ),
                ent="'p' || CAST(p.id AS VARCHAR(20))",
            )
        ),
        "cross_sector": sel_p(
            _projects(
                tf,
                f"AND p.status IN {FUNDED}",
                joins=f"JOIN ({sector_projects}) sp ON sp.tid = p.tenant_id "
                "AND sp.project_id = p.id ",
            ),
            ent="p.id",
        ),
        "ecosystems_by_funding": sel_p(
            _projects(
                tf,
                f"AND p.status IN {FUNDED}",
                joins="JOIN project_ecosystems pe ON pe.tenant_id = p.tenant_id "
                "AND pe.project_id = p.id JOIN ecosystems e ON e.id = pe.ecosystem_id ",
            ),
            d1="e.code",
            ent="p.id",
            amount="COALESCE(p.eu_contribution, 0)",
        ),
        "cordis_recorded_share": sel_o(
            _from(CORDIS), ent="o.id || ':' || o.grant_key", num="o.recorded", den="1"
        ),
        "sme_participation_rate_cordis": sel_o(
            members(
                f"AND ((o.kind = 'firm' AND o.size_class IN {SME}) OR c.pic_sme = 1)",
                joins=f"LEFT JOIN (SELECT tid, id, MAX(pic_sme) AS pic_sme FROM {CORDIS} "
                "GROUP BY tid, id) c ON c.tid = o.tid AND c.id = o.id ",
            ),
            ent=oid,
            num="CASE WHEN c.id IS NULL THEN 0 ELSE 1 END",
            den="1",
        ),
        "open_partner_requests": _select(
            "pr.tenant_id",
            "FROM partner_requests pr JOIN tenants t ON t.id = pr.tenant_id "
            "LEFT JOIN ecosystems e ON pr.ecosystem_codes LIKE '%|' || e.code || '|%' "
            f"WHERE pr.closed_at IS NULL AND pr.deadline >= CURRENT_DATE{tf('pr')}",
            d1="pr.programme_code",
            d2="COALESCE(e.code, 'any')",
            ent="pr.id",
        ),
        "partner_interests_by_quarter": _select(
            "pi.tenant_id",
            "FROM partner_interests pi JOIN tenants t ON t.id = pi.tenant_id "
            f"WHERE 1 = 1{tf('pi')}",
            d1=q.quarter("pi.created_at"),
            ent="pi.id",
        ),
        "accepted_matches_by_quarter": sel_pi(matches, d1=q.quarter("pi.decided_at"), ent="pi.id"),
        "cross_association_matches": sel_pi(matches, d1="t2.country", ent="pi.id"),
    }


# Metrics whose counted things can repeat across tenants (one grant, several records).
DISTINCT_COUNTS = {"cross_association", "cross_border"}


def aggregate(q: Dialect, key: str, base: str, alliance: bool) -> str:
    """Aggregate a base query per tenant, and (for the alliance) per country and overall.

    Output columns: level, tid, country, d1, d2, cnt, amount, num, den.
    """
    if key in DISTINCT_COUNTS:
        count = "COUNT(DISTINCT b.ent)"
    elif alliance:
        # Count per tenant and dimensions first (one grouping over the base rows), then
        # roll those few rows up into the tenant, country and total levels.
        base = (
            "SELECT b.tid, b.tcountry, b.d1, b.d2, NULL AS ent, SUM(b.amount) AS amount, "
            "SUM(b.num) AS num, SUM(b.den) AS den, COUNT(*) AS w "
            f"FROM ({base}) b GROUP BY b.tid, b.tcountry, b.d1, b.d2"
        )
        count = "SUM(b.w)"
    else:
        count = "COUNT(*)"
    measures = f"{count} AS cnt, SUM(b.amount) AS amount, SUM(b.num) AS num, SUM(b.den) AS den"
    if not alliance:
        return (
            f"SELECT '{TENANT}' AS level, b.tid, '' AS country, b.d1, b.d2, {measures} "
            f"FROM ({base}) b GROUP BY b.tid, b.d1, b.d2"
        )
    if q.name == "postgresql":
        return (
            f"SELECT CASE WHEN GROUPING(b.tid) = 0 THEN '{TENANT}' "
            f"WHEN GROUPING(b.tcountry) = 0 THEN '{COUNTRY}' ELSE '{TOTAL}' END AS level, "
            f"b.tid, COALESCE(b.tcountry, '') AS country, b.d1, b.d2, {measures} "
            f"FROM ({base}) b "
            "GROUP BY GROUPING SETS ((b.tid, b.d1, b.d2), (b.tcountry, b.d1, b.d2), (b.d1, b.d2))"
        )
    parts = [
        f"SELECT '{TENANT}' AS level, b.tid, '' AS country, b.d1, b.d2, {measures} "
        "FROM b GROUP BY b.tid, b.d1, b.d2",
        f"SELECT '{COUNTRY}', NULL, b.tcountry, b.d1, b.d2, {measures} "
        "FROM b GROUP BY b.tcountry, b.d1, b.d2",
        f"SELECT '{TOTAL}', NULL, '', b.d1, b.d2, {measures} FROM b GROUP BY b.d1, b.d2",
    ]
    return f"WITH b AS ({base}) " + " UNION ALL ".join(parts)


# Each metric's aggregated rows, kept in the database until the snapshot is written.
RESULTS = "tmp_metric_results"
RESULT_COLUMNS = "metric, level, tid, country, d1, d2, cnt, amount, num, den"
TEMP_TABLES = (RESULTS, *TEMP_TABLES)


@dataclass(frozen=True)
class RefreshPlan:
    """The statements of one refresh, run in order on one connection: ``setup``
    (settings, the fact tables and the results table), then each of ``queries`` (one
    metric's aggregated rows into the results table), then, after the snapshot is
    written from the results (``crm.metrics.snapshots``), ``teardown``.
    The benchmark's floor runs exactly these, without the snapshot."""

    setup: list[str]
    queries: dict[str, str]
    teardown: list[str]


def metric_plan(dialect_name: str, tenant_id: int | None) -> RefreshPlan:
    """Every statement of a refresh: alliance-wide (``tenant_id`` None) or for one tenant."""
    q = Dialect(dialect_name)
    tf = _tenant_filter(tenant_id)
    setup = [f"DROP TABLE IF EXISTS {table}" for table in TEMP_TABLES]
    if q.name == "postgresql":
        # These aggregations over the whole alliance cost more than jit_above_cost, and
        # compiling them took longer than running them (about 0.4 s a statement). The
        # fact tables' joins and groupings sort to disk under the default 4 MB work_mem;
        # one refresh runs at a time (advisory lock), so it may take more.
        setup[:0] = ["SET LOCAL jit = off", "SET LOCAL work_mem = '64MB'"]
    setup += _facts(q, tf)
    setup.append(
        f"CREATE TEMPORARY TABLE {RESULTS} (metric TEXT, level TEXT, tid INTEGER, "
        "country TEXT, d1 TEXT, d2 TEXT, cnt BIGINT, amount NUMERIC, num BIGINT, den BIGINT)"
    )
    bases = base_queries(q, tf)
    queries = {
        key: f"INSERT INTO {RESULTS} ({RESULT_COLUMNS}) SELECT '{key}', a.level, a.tid, "
        "a.country, a.d1, a.d2, a.cnt, a.amount, a.num, a.den "
        f"FROM ({aggregate(q, key, sql, tenant_id is None)}) a"
        for key, sql in bases.items()
    }
    teardown = [f"DROP TABLE IF EXISTS {table}" for table in TEMP_TABLES]
    return RefreshPlan(setup, queries, teardown)


# How a metric's stored value, n and base follow from its aggregated row, by unit
# (see crm.models.MetricValue); a ratio without a denominator is not stored.
_VALUES = {
    "ratio": ("ROUND(r.num * 1.0 / r.den, 4)", "r.num", "r.den", " AND r.den <> 0"),
    "sum": ("ROUND(COALESCE(r.amount, 0), 4)", "r.cnt", "NULL", ""),
    "count": ("r.cnt", "r.cnt", "NULL", ""),
}
_VALUES["eur"] = _VALUES["sum"]


def store_values(unit: str, snapshot_ids: list[int]) -> str:
    """Copy one metric's (``:metric``) results into ``metric_values`` of the snapshots.

    A tenant-level row goes to that tenant's snapshot (level 'total'); country and
    alliance rows go to the alliance snapshot. Rows of a tenant without a snapshot
    (created since the headers were written) are left out.
    """
    value, n, base, extra = _VALUES[unit]
    ids = ", ".join(str(int(i)) for i in snapshot_ids)
    return (
        "INSERT INTO metric_values "
        "(snapshot_id, tenant_id, metric, level, country, d1, d2, value, n, base) "
        f"SELECT s.id, CASE WHEN r.level = '{TENANT}' THEN r.tid END, r.metric, "
        f"CASE WHEN r.level = '{TENANT}' THEN '{TOTAL}' ELSE r.level END, "
        f"CASE WHEN r.level = '{COUNTRY}' THEN r.country ELSE '' END, "
        "SUBSTR(COALESCE(r.d1, ''), 1, 60), SUBSTR(COALESCE(r.d2, ''), 1, 60), "
        f"{value}, {n}, {base} FROM {RESULTS} r JOIN metric_snapshots s ON s.id IN ({ids}) "
        f"AND ((r.level = '{TENANT}' AND s.tenant_id = r.tid) "
        f"OR (r.level <> '{TENANT}' AND s.tenant_id IS NULL)) "
        f"WHERE r.metric = :metric{extra}"
    )
