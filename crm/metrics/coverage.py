"""Coverage of the alliance figures: which associations each one is based on, and
how recent their data are ("based on N of M associations; data last updated ...").

Gathered by the alliance refresh (the metrics role reads every tenant) and stored
on the alliance snapshot's header (``MetricSnapshot.coverage``), so the pages read
it with the snapshot, never from the tenants' tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

from crm.i18n import _, ngettext
from crm.metrics.sql import RESULTS, TENANT

# Tables whose changes say that an association's data were updated (every record the
# figures count hangs off one of them).
UPDATED_FROM = ("organisations", "association_memberships", "projects")


def gather(connection: Connection) -> dict:
    """Per association its name, country and last change; per metric the associations
    with at least one record in it (from the refresh's results table)."""
    latest = " UNION ALL ".join(
        f"SELECT tenant_id, MAX(updated_at) AS updated FROM {table} GROUP BY tenant_id"
        for table in UPDATED_FROM
    )
    rows = connection.execute(
        text(
            "SELECT t.id, t.name, t.country, MAX(u.updated) AS updated FROM tenants t "
            f"LEFT JOIN ({latest}) u ON u.tenant_id = t.id GROUP BY t.id, t.name, t.country"
        )
    ).all()
    associations = {
        str(r.id): {
            "name": r.name,
            "country": r.country,
            # SQLite hands text back; both spell the day first.
            "updated": None if r.updated is None else str(r.updated)[:10],
        }
        for r in rows
    }
    metrics: dict[str, list[str]] = {}
    for metric, tid in connection.execute(
        text(f"SELECT DISTINCT metric, tid FROM {RESULTS} WHERE level = '{TENANT}'")
    ):
        metrics.setdefault(metric, []).append(str(tid))
    return {"associations": associations, "metrics": metrics}


@dataclass(frozen=True)
class Coverage:
    associations: dict[str, dict]
    metrics: dict[str, list[str]]

    @classmethod
    def of(cls, snapshot) -> Coverage | None:
        data = getattr(snapshot, "coverage", None)
        if not data:
            return None  # a snapshot from before coverage was recorded
        return cls(data.get("associations", {}), data.get("metrics", {}))

    def line(self, metric: str, names: bool = True) -> str:
        """'based on N of M associations; data last updated D1 to D2', and (``names``,
        the alliance office) which associations have nothing in it, up to five."""
        tids = [t for t in self.metrics.get(metric, []) if t in self.associations]
        total = len(self.associations)
        # Clauses, each translated whole, joined by semicolons.
        clauses = [
            ngettext(
                "based on %(count)s of %(num)s association",
                "based on %(count)s of %(num)s associations",
                total,
                count=len(tids),
            )
        ]
        days = sorted(d for t in tids if (d := self.associations[t]["updated"]))
        if days and days[0] == days[-1]:
            clauses.append(_("data last updated %(day)s", day=days[0]))
        elif days:
            clauses.append(
                _("data last updated %(first)s to %(last)s", first=days[0], last=days[-1])
            )
        missing = sorted(
            f"{a['name']} ({a['country']})" for t, a in self.associations.items() if t not in tids
        )
        if names and missing and len(missing) <= 5:
            clauses.append(_("nothing from %(names)s", names=", ".join(missing)))
        return "; ".join(clauses)

    def rows(self) -> list[dict]:
        """One row per association: name, country, last update, figures it is in."""
        counts = {t: 0 for t in self.associations}
        for tids in self.metrics.values():
            for t in tids:
                if t in counts:
                    counts[t] += 1
        return sorted(
            ({**a, "figures": counts[t]} for t, a in self.associations.items()),
            key=lambda a: (a["country"], a["name"]),
        )
