"""What each metric counts: its key, unit, chart, dimensions and one-paragraph definition.

The same text is shown beside every chart and table and in docs/metrics.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from crm.i18n import _l

# Days after "paid until" that a lapsed membership recorded without a leaving date is
# taken to have left (the renewal reminders run for a month).
LAPSE_GRACE_DAYS = 30
# A dimension's name (kept in English: the code compares it) as people read it.
DIMENSIONS = {
    "Country": _l("Country"),
    "Ecosystem": _l("Ecosystem"),
    "Kind": _l("Kind"),
    "NUTS-2 region": _l("NUTS-2 region"),
    "Programme": _l("Programme"),
    "Quarter": _l("Quarter"),
    "Size class": _l("Size class"),
    "Start year": _l("Start year"),
    "Status": _l("Status"),
}


@dataclass(frozen=True)
class Metric:
    key: str
    title: str
    unit: str  # count | sum | eur | ratio
    definition: str
    d1: str = ""  # label of the first dimension ('' = a single value)
    d2: str = ""  # label of the second dimension (stacked charts)
    chart: str = "bar"  # bar | stacked | none
    group: str = "Members"
    # The single-value metric its cells add up to (a published margin), if any: what an
    # analyst would subtract from (tests/metrics/test_disclosure.py searches it).
    total: str = ""

    @property
    def d1_label(self) -> str:
        return str(DIMENSIONS.get(self.d1, self.d1))

    @property
    def d2_label(self) -> str:
        return str(DIMENSIONS.get(self.d2, self.d2))


METRICS: tuple[Metric, ...] = (
    Metric(
        "members",
        _l("Members"),
        "count",
        _l(
            "Organisations in the association's network on the day of the snapshot, whatever "
            "their kind: those whose membership of the association is active, and those that are "
            "current members of one of its clusters (no end date, or an end date today or later) "
            "that is not archived. Archived organisations are left out, and so are the members of"
            " an archived cluster through it. An organisation recorded by two associations is "
            "counted once by each."
        ),
        chart="none",
    ),
    Metric(
        "members_by_kind",
        _l("Members by kind"),
        "count",
        _l(
            "Members (as in 'Members') grouped by kind of organisation: cluster organisation, "
            "firm, university, research organisation, public body, investor, other."
        ),
        d1="Kind",
        total="members",
    ),
    Metric(
        "members_by_size_class",
        _l("Member firms by size class"),
        "count",
        _l(
            "Member firms (as in 'Members') grouped by their EU size class (Recommendation "
            "2003/361/EC: headcount first, then turnover or balance sheet). Firms whose figures "
            "do not decide the class are shown as 'unknown', never guessed."
        ),
        d1="Size class",
    ),
    Metric(
        "sme_share",
        _l("SME share of member firms"),
        "ratio",
        _l(
            "Of the member firms whose size class is known, the share that are SMEs (micro, small"
            " or medium). Firms of unknown size class are left out of both the numerator and the "
            "denominator."
        ),
        chart="none",
    ),
    Metric(
        "members_by_ecosystem",
        _l("Members by industrial ecosystem"),
        "count",
        _l(
            "Members tagged with each of the 14 EU industrial ecosystems. A member tagged with "
            "two ecosystems is counted in both, so the bars add up to more than the members."
        ),
        d1="Ecosystem",
    ),
    Metric(
        "members_by_country",
        _l("Members by country"),
        "count",
        _l(
            "Members grouped by the country of the organisation's address (which may differ from "
            "the association's country)."
        ),
        d1="Country",
        total="members",
    ),
    Metric(
        "members_by_region",
        _l("Members by NUTS-2 region"),
        "count",
        _l(
            "Members grouped by the NUTS-2 region (2021 classification) of their address; "
            "members without a recorded region are shown as 'unknown'."
        ),
        d1="NUTS-2 region",
        total="members",
    ),
    Metric(
        "employees",
        _l("Employees in member firms"),
        "sum",
        _l(
            "The sum of the recorded staff headcount of member firms. Firms without a recorded "
            "headcount add nothing; the number of firms with a headcount is what decides "
            "suppression."
        ),
        chart="none",
    ),
    Metric(
        "joins_by_quarter",
        _l("Joins per quarter"),
        "count",
        _l(
            "Memberships grouped by the calendar quarter of their joining date, whatever their "
            "status today. Memberships without a joining date are left out."
        ),
        d1="Quarter",
        group="Membership",
    ),
    Metric(
        "lapses_by_quarter",
        _l("Lapses per quarter"),
        "count",
        _l(
            "Memberships whose status is lapsed or left, grouped by the calendar quarter of their "
            "leaving date. A lapsed membership recorded without a leaving date left "
            "%(days)s days after the date its fees were paid until; one with neither "
            "date is left out.",
            days=LAPSE_GRACE_DAYS,
        ),
        d1="Quarter",
        group="Membership",
    ),
    Metric(
        "projects_by_programme_status",
        _l("Projects by programme and status"),
        "count",
        _l(
            "Projects recorded by the association, grouped by funding programme and by their "
            "current status (proposal, submitted, funded, rejected, running, closed). A grant "
            "recorded by two associations is counted once by each."
        ),
        d1="Programme",
        d2="Status",
        chart="stacked",
        group="Projects",
    ),
    Metric(
        "projects_by_year",
        _l("Projects by start year"),
        "count",
        _l(
            "Projects grouped by the year of their start date, any status; projects without a "
            "start date are shown as 'unknown'."
        ),
        d1="Start year",
        group="Projects",
    ),
    Metric(
        "participations_by_programme_status",
        _l("Participations by programme and status"),
        "count",
        _l(
            "Participations (one organisation in one project, whatever its role) grouped by the "
            "project's programme and current status. Participations of archived organisations "
            "count: archiving takes an organisation out of the member figures, not out of the "
            "projects it took part in."
        ),
        d1="Programme",
        d2="Status",
        chart="stacked",
        group="Projects",
    ),
    Metric(
        "participations_by_year",
        _l("Participations by start year"),
        "count",
        _l(
            "Participations grouped by the start year of their project; projects without a start "
            "date are shown as 'unknown'."
        ),
        d1="Start year",
        group="Projects",
    ),
    Metric(
        "international_projects",
        _l("International projects by programme and status"),
        "count",
        _l(
            "Projects whose participants come from two or more countries (the country of each "
            "participating organisation, members and external partners alike), grouped by funding"
            " programme and current status. A project whose participants are all from one "
            "country, or that has none, is not international."
        ),
        d1="Programme",
        d2="Status",
        chart="stacked",
        group="Projects",
    ),
    Metric(
        "projects_funded",
        _l("Funded projects"),
        "count",
        _l("Projects whose status is funded, running or closed: projects that received funding."),
        chart="none",
        group="Funding",
    ),
    Metric(
        "budget_by_programme",
        _l("Total budget by programme (EUR)"),
        "eur",
        _l(
            "The sum of the total budget of projects that are funded, running or closed, per "
            "programme. The number of projects behind each sum decides suppression."
        ),
        d1="Programme",
        group="Funding",
    ),
    Metric(
        "eu_contribution_by_programme",
        _l("EU contribution by programme (EUR)"),
        "eur",
        _l(
            "The sum of the EU contribution to projects that are funded, running or closed, per "
            "programme; projects without a recorded EU contribution add nothing."
        ),
        d1="Programme",
        group="Funding",
        total="eu_contribution",
    ),
    Metric(
        "eu_contribution",
        _l("EU contribution (EUR)"),
        "eur",
        _l("The sum of the EU contribution to all projects that are funded, running or closed."),
        chart="none",
        group="Funding",
    ),
    Metric(
        "sme_participation_rate",
        _l("SME participation rate"),
        "ratio",
        _l(
            "Of the member firms that are SMEs (micro, small or medium), the share that take "
            "part, in any role, in at least one project that is funded, running or closed."
        ),
        chart="none",
        group="Funding",
    ),
    Metric(
        "success_rate",
        _l("Proposal success rate"),
        "ratio",
        _l(
            "Projects with a decided outcome: those funded (status funded, running or closed) "
            "divided by those funded plus those rejected. Proposals in preparation or submitted "
            "and not yet decided are left out."
        ),
        chart="none",
        group="Funding",
    ),
    Metric(
        "success_rate_by_programme",
        _l("Proposal success rate by programme"),
        "ratio",
        _l(
            "The success rate (funded ÷ (funded + rejected), over projects with a decided "
            "outcome) per programme."
        ),
        d1="Programme",
        group="Funding",
    ),
    Metric(
        "success_rate_by_size_class",
        _l("Proposal success rate by size class"),
        "ratio",
        _l(
            "The success rate over the participations of firms in projects with a decided "
            "outcome, per size class of the firm: participations in funded projects divided by "
            "participations in funded or rejected ones. External partners are left out (their "
            "size is not recorded)."
        ),
        d1="Size class",
        group="Funding",
    ),
    Metric(
        "cross_association",
        _l("Cross-association collaborations"),
        "count",
        _l(
            "Grants recorded by two or more associations: the same programme and the same "
            "normalised grant agreement number (prefixes, spaces and punctuation removed) on "
            "projects of at least two associations, whatever their status. Each grant counts "
            "once, however many associations record it."
        ),
        chart="none",
        group="Collaboration",
    ),
    Metric(
        "cross_border",
        _l("Cross-border collaborations"),
        "count",
        _l(
            "Collaborations whose participants come from two or more countries. A grant "
            "(programme and normalised grant number) counts once, with the participants recorded "
            "by every association that records it; a project without a grant number counts on its"
            " own participants."
        ),
        chart="none",
        group="Collaboration",
    ),
    Metric(
        "cross_sector",
        _l("Cross-sector collaborations"),
        "count",
        _l(
            "Projects that are funded, running or closed whose participants, taken together, are "
            "tagged with two or more different industrial ecosystems."
        ),
        chart="none",
        group="Collaboration",
    ),
    Metric(
        "ecosystems_by_funding",
        _l("Ecosystems ranked by funding (EUR)"),
        "eur",
        _l(
            "The EU contribution to projects that are funded, running or closed, per industrial "
            "ecosystem of the project, largest first. A project tagged with two ecosystems counts"
            " in both."
        ),
        d1="Ecosystem",
        group="Collaboration",
    ),
    Metric(
        "open_partner_requests",
        _l("Open partner requests"),
        "count",
        _l(
            "Partner requests open on the day of the snapshot (not closed, deadline today or "
            "later), by programme and by the industrial ecosystem they seek ('any' when they name"
            " none). A request seeking two ecosystems counts in both. Counted for the association"
            " that posted it."
        ),
        d1="Programme",
        d2="Ecosystem",
        chart="stacked",
        group="Partner search",
    ),
    Metric(
        "partner_interests_by_quarter",
        _l("Interests expressed per quarter"),
        "count",
        _l(
            "Expressions of interest in another association's partner request, by the quarter "
            "they were made, whatever became of them (pending, accepted, declined or withdrawn). "
            "Counted for the association that expressed the interest."
        ),
        d1="Quarter",
        group="Partner search",
    ),
    Metric(
        "accepted_matches_by_quarter",
        _l("Accepted matches per quarter"),
        "count",
        _l(
            "Expressions of interest accepted by the requester (the moment the two sides' contact"
            " persons are exchanged), by the quarter of the acceptance. Counted for the "
            "association that posted the request."
        ),
        d1="Quarter",
        group="Partner search",
    ),
    Metric(
        "cross_association_matches",
        _l("Cross-association matches"),
        "count",
        _l(
            "Accepted matches, which always join two associations of the alliance (an association"
            " cannot answer its own request), by the country of the association whose "
            "organisation answered. Counted for the association that posted the request."
        ),
        d1="Country",
        group="Partner search",
    ),
    Metric(
        "cordis_recorded_share",
        _l("Members' CORDIS participations recorded"),
        "ratio",
        _l(
            "Of the members' participations in EU grants that CORDIS publishes, the share the "
            "association records. Members (as in 'Members') are matched to CORDIS's participants "
            "as the reconciliation page matches them: by PIC, and a member without a PIC by its "
            "VAT number; each member counts once per grant. A participation is recorded when the "
            "association has a project with the same grant number in which the member takes part."
            " Participations the association dismissed as not to be recorded are left out. It "
            "says how far the association's project figures can be trusted."
        ),
        chart="none",
        group="Official data (CORDIS)",
    ),
    Metric(
        "sme_participation_rate_cordis",
        _l("SME participation rate from CORDIS"),
        "ratio",
        _l(
            "The SME participation rate with CORDIS as the source instead of the recorded "
            "projects: of the member SMEs (member firms whose size class is micro, small or "
            "medium, and members that CORDIS flags as an SME in a participation matched by their "
            "PIC), the share that CORDIS lists in at least one EU grant (matched by PIC, else VAT"
            " number, as in 'Members' CORDIS participations recorded'). Shown beside the "
            "self-reported 'SME participation rate'."
        ),
        chart="none",
        group="Official data (CORDIS)",
    ),
)

BY_KEY = {m.key: m for m in METRICS}
HEADLINES = (
    "members",
    "sme_share",
    "employees",
    "projects_funded",
    "eu_contribution",
    "sme_participation_rate",
    "sme_participation_rate_cordis",
    "success_rate",
    "cross_association",
    "cross_border",
    "cross_sector",
    "cordis_recorded_share",
)
# Metrics compared country by country on the alliance office's comparison page.
COUNTRY_COMPARISON = (
    "members",
    "sme_share",
    "employees",
    "projects_funded",
    "eu_contribution",
    "sme_participation_rate",
    "sme_participation_rate_cordis",
    "success_rate",
    "cross_association",
    "cross_border",
    "cross_sector",
    "cordis_recorded_share",
)
# Lines drawn over the snapshots (trends).
TRENDS = ("members", "projects_funded", "sme_participation_rate", "success_rate")


def markdown() -> str:
    """The definitions as Markdown, for docs/metrics.md (the text shown in the UI).

    A test keeps the docs in step with it (tests/metrics/test_docs.py).
    """
    units = {"count": "count", "sum": "sum", "eur": "euros", "ratio": "share (percent)"}
    out, group = [], None
    for m in METRICS:
        if m.group != group:
            group = m.group
            out.append(f"### {group}\n")
        by = " and ".join(x if x[:2].isupper() else x.lower() for x in (m.d1, m.d2) if x)
        shape = f"{units[m.unit]}{' by ' + by if by else ', one value'}"
        out.append(f"**{m.title}** (`{m.key}`; {shape})\n\n{m.definition}\n")
    return "\n".join(out)
