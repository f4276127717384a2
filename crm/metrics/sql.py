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

    def year(self, col: str) -> str:
        if self.name == "postgresql":
            return f"COALESCE(to_char({col}, 'YYYY'), 'unknown')"
        return f"COALESCE(strftime('%Y', {col}), 'unknown')"


def _tenant_filter(tenant_id: int | None) -> Callable[[str], str]:
    return lambda alias: "" if tenant_id is None else f" AND {alias}.tenant_id = :tenant_id"


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
) -> str:
    cols = _COLS.format(d1=d1, d2=d2, ent=ent, amount=amount, num=num, den=den)
    return f"SELECT {tenant_col} AS tid, t.country AS tcountry, {cols} {frm}"


# The association's network on the day: an active membership of the association, or a
# current membership of one of its clusters. Archived organisations are left out.
MEMBER = (
    "NOT o.archived AND (EXISTS (SELECT 1 FROM association_memberships am "
    "WHERE am.tenant_id = o.tenant_id AND am.organisation_id = o.id AND am.status = 'active') "
    "OR EXISTS (SELECT 1 FROM cluster_memberships cm WHERE cm.tenant_id = o.tenant_id "
    "AND cm.member_id = o.id AND (cm.until IS NULL OR cm.until >= CURRENT_DATE)))"
)


def _members(tf, extra: str = "", joins: str = "") -> str:
    return (
        f"FROM organisations o JOIN tenants t ON t.id = o.tenant_id {joins}"
        f"WHERE {MEMBER}{tf('o')} {extra}"
    )


def _projects(tf, extra: str = "", joins: str = "") -> str:
    return (
        f"FROM projects p JOIN tenants t ON t.id = p.tenant_id {joins}WHERE 1 = 1{tf('p')} {extra}"
    )


def _participations(tf, extra: str = "", joins: str = "") -> str:
    return (
        "FROM participations pa "
        "JOIN projects p ON p.tenant_id = pa.tenant_id AND p.id = pa.project_id "
        f"JOIN tenants t ON t.id = pa.tenant_id {joins}WHERE 1 = 1{tf('pa')} {extra}"
    )


def _memberships(tf, extra: str) -> str:
    return (
        "FROM association_memberships am JOIN tenants t ON t.id = am.tenant_id "
        f"WHERE 1 = 1{tf('am')} {extra}"
    )


def base_queries(q: Dialect, tf) -> dict[str, str]:
    """The base query of every metric (see the module docstring for its columns)."""
    oid = "o.id"
    sel_o = lambda frm, **kw: _select("o.tenant_id", frm, **kw)  # noqa: E731
    sel_p = lambda frm, **kw: _select("p.tenant_id", frm, **kw)  # noqa: E731
    sel_pa = lambda frm, **kw: _select("pa.tenant_id", frm, **kw)  # noqa: E731
    sel_am = lambda frm, **kw: _select("am.tenant_id", frm, **kw)  # noqa: E731
    grant = "p.programme_code || ':' || p.grant_key"
    shared_grants = (
        "SELECT programme_code, grant_key FROM projects WHERE grant_key IS NOT NULL "
        "GROUP BY programme_code, grant_key HAVING COUNT(DISTINCT tenant_id) >= 2"
    )
    border_grants = (
        "SELECT gp.programme_code, gp.grant_key FROM projects gp "
        "JOIN participations gpa ON gpa.tenant_id = gp.tenant_id AND gpa.project_id = gp.id "
        "JOIN organisations go ON go.tenant_id = gpa.tenant_id AND go.id = gpa.organisation_id "
        "WHERE gp.grant_key IS NOT NULL GROUP BY gp.programme_code, gp.grant_key "
        "HAVING COUNT(DISTINCT go.country) >= 2"
    )
    border_projects = (
        "SELECT bpa.tenant_id, bpa.project_id FROM participations bpa "
        "JOIN projects bp ON bp.tenant_id = bpa.tenant_id AND bp.id = bpa.project_id "
        "JOIN organisations bo ON bo.tenant_id = bpa.tenant_id AND bo.id = bpa.organisation_id "
        f"WHERE bp.grant_key IS NULL{tf('bpa')} GROUP BY bpa.tenant_id, bpa.project_id "
        "HAVING COUNT(DISTINCT bo.country) >= 2"
    )
    sector_projects = (
        "SELECT spa.tenant_id, spa.project_id FROM participations spa "
        "JOIN organisation_ecosystems soe ON soe.tenant_id = spa.tenant_id "
        "AND soe.organisation_id = spa.organisation_id "
        f"WHERE 1 = 1{tf('spa')} GROUP BY spa.tenant_id, spa.project_id "
        "HAVING COUNT(DISTINCT soe.ecosystem_id) >= 2"
    )
    in_funded_project = (
        "SELECT DISTINCT fpa.tenant_id, fpa.organisation_id FROM participations fpa "
        "JOIN projects fp ON fp.tenant_id = fpa.tenant_id AND fp.id = fpa.project_id "
        f"WHERE fp.status IN {FUNDED}{tf('fpa')}"
    )
    funded_flag = f"CASE WHEN p.status IN {FUNDED} THEN 1 ELSE 0 END"
    return {
        "members": sel_o(_members(tf), ent=oid),
        "members_by_kind": sel_o(_members(tf), d1="o.kind", ent=oid),
        "members_by_size_class": sel_o(
            _members(tf, "AND o.kind = 'firm'"), d1="COALESCE(o.size_class, 'unknown')", ent=oid
        ),
        "sme_share": sel_o(
            _members(tf, "AND o.kind = 'firm' AND o.size_class IS NOT NULL"),
            ent=oid,
            num=f"CASE WHEN o.size_class IN {SME} THEN 1 ELSE 0 END",
            den="1",
        ),
        "members_by_ecosystem": sel_o(
            _members(
                tf,
                joins="JOIN organisation_ecosystems oe ON oe.tenant_id = o.tenant_id "
                "AND oe.organisation_id = o.id JOIN ecosystems e ON e.id = oe.ecosystem_id ",
            ),
            d1="e.code",
            ent=oid,
        ),
        "members_by_country": sel_o(_members(tf), d1="o.country", ent=oid),
        "members_by_region": sel_o(_members(tf), d1="COALESCE(o.nuts2, 'unknown')", ent=oid),
        "employees": sel_o(
            _members(tf, "AND o.kind = 'firm' AND o.employees IS NOT NULL"),
            ent=oid,
            amount="o.employees",
        ),
        "joins_by_quarter": sel_am(
            _memberships(tf, "AND am.joined_on IS NOT NULL"),
            d1=q.quarter("am.joined_on"),
            ent="am.id",
        ),
        "lapses_by_quarter": sel_am(
            _memberships(tf, "AND am.status IN ('lapsed', 'left') AND am.left_on IS NOT NULL"),
            d1=q.quarter("am.left_on"),
            ent="am.id",
        ),
        "projects_by_programme_status": sel_p(
            _projects(tf), d1="p.programme_code", d2="p.status", ent="p.id"
        ),
        "projects_by_year": sel_p(_projects(tf), d1=q.year("p.start_date"), ent="p.id"),
        "participations_by_programme_status": sel_pa(
            _participations(tf), d1="p.programme_code", d2="p.status", ent="pa.id"
        ),
        "participations_by_year": sel_pa(
            _participations(tf), d1=q.year("p.start_date"), ent="pa.id"
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
            _members(
                tf,
                f"AND o.kind = 'firm' AND o.size_class IN {SME}",
                joins=f"LEFT JOIN ({in_funded_project}) f ON f.tenant_id = o.tenant_id "
                "AND f.organisation_id = o.id ",
            ),
            ent=oid,
            num="CASE WHEN f.organisation_id IS NULL THEN 0 ELSE 1 END",
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
        "success_rate_by_size_class": sel_pa(
            _participations(
                tf,
                f"AND p.status IN {DECIDED} AND o.kind = 'firm'",
                joins="JOIN organisations o ON o.tenant_id = pa.tenant_id "
                "AND o.id = pa.organisation_id ",
            ),
            d1="COALESCE(o.size_class, 'unknown')",
            ent="pa.id",
            num=funded_flag,
            den="1",
        ),
        "cross_association": sel_p(
            _projects(
                tf,
                joins=f"JOIN ({shared_grants}) sg ON sg.programme_code = p.programme_code "
                "AND sg.grant_key = p.grant_key ",
            ),
            ent=grant,
        ),
        "cross_border": (
            sel_p(
                _projects(
                    tf,
                    joins=f"JOIN ({border_grants}) bg ON bg.programme_code = p.programme_code "
                    "AND bg.grant_key = p.grant_key ",
                ),
                ent=grant,
            )
            + " UNION ALL "
            + sel_p(
                _projects(
                    tf,
                    joins=f"JOIN ({border_projects}) bpr ON bpr.tenant_id = p.tenant_id "
                    "AND bpr.project_id = p.id ",
                ),
                ent="'p' || CAST(p.id AS VARCHAR(20))",
            )
        ),
        "cross_sector": sel_p(
            _projects(
                tf,
                f"AND p.status IN {FUNDED}",
                joins=f"JOIN ({sector_projects}) sp ON sp.tenant_id = p.tenant_id "
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
    }


# Metrics whose counted things can repeat across tenants (one grant, several records).
DISTINCT_COUNTS = {"cross_association", "cross_border"}


def aggregate(q: Dialect, key: str, base: str, alliance: bool) -> str:
    """Aggregate a base query per tenant, and (for the alliance) per country and overall.

    Output columns: level, tid, country, d1, d2, cnt, amount, num, den.
    """
    count = "COUNT(DISTINCT b.ent)" if key in DISTINCT_COUNTS else "COUNT(*)"
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


def metric_queries(dialect_name: str, tenant_id: int | None) -> dict[str, str]:
    """Final SQL per metric: alliance-wide (``tenant_id`` None) or for one tenant."""
    q = Dialect(dialect_name)
    bases = base_queries(q, _tenant_filter(tenant_id))
    return {key: aggregate(q, key, sql, tenant_id is None) for key, sql in bases.items()}
