"""Suggested partners for a proposal: published organisations of the other
associations, ranked, each with the reasons it is there.

Points (docs/partners.md):
* ecosystem overlap: 3 for each ecosystem shared with the project (or, when
  the project names none, with its consortium);
* NACE proximity to a consortium member: same class 3, division 2, section 1;
* a complementary kind: 3 for a university or research organisation when the
  consortium has none, 2 for a firm when it has no firm;
* funded experience in the project's programme: 2, plus 1 per project (at most 3).

Candidates are read in one statement (other associations' profiles sharing an
ecosystem, the programme or a missing kind; at most ``CANDIDATES``), scored
here, and the best ``LIMIT`` kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import or_, select

from crm.extensions import db
from crm.i18n import _, ngettext
from crm.models import Organisation, PartnerProfile, Project
from crm.models.organisation import KINDS
from crm.profiles.folding import nace_section
from crm.projects.partners import name_key

LIMIT = 10
CANDIDATES = 500
RESEARCH_KINDS = ("university", "research_org")


@dataclass
class Suggestion:
    profile: PartnerProfile
    score: float = 0
    reasons: list[str] = field(default_factory=list)


@dataclass
class Consortium:
    """What the ranking needs to know about a project and its participants."""

    programme: str
    ecosystems: set[str]
    kinds: set[str]
    naces: set[str]
    keys: set[tuple[str, str]]  # (country, name key) of the participants

    @classmethod
    def of(cls, project: Project, organisations: list[Organisation]) -> Consortium:
        ecosystems = {e.code for e in project.ecosystems} or {
            e.code for org in organisations for e in org.ecosystems
        }
        return cls(
            programme=project.programme_code,
            ecosystems=ecosystems,
            kinds={org.kind for org in organisations},
            naces={org.nace for org in organisations if org.nace},
            keys={(org.country, name_key(org.name)) for org in organisations},
        )

    @property
    def missing_kinds(self) -> list[str]:
        missing = [] if self.kinds & set(RESEARCH_KINDS) else list(RESEARCH_KINDS)
        return missing + ([] if "firm" in self.kinds else ["firm"])


def _nace_points(nace: str | None, naces: set[str]) -> tuple[int, str | None]:
    if not nace:
        return 0, None
    best = 0
    for other in naces:
        if nace[:5] == other[:5] and len(nace) >= 5:
            best = max(best, 3)
        elif nace[:2] == other[:2] and nace[:2].isdigit():
            best = max(best, 2)
        elif nace_section(nace) and nace_section(nace) == nace_section(other):
            best = max(best, 1)
    labels = {
        3: _("Same NACE class as a consortium member (%(nace)s)", nace=nace),
        2: _("Same NACE division as a consortium member (%(nace)s)", nace=nace),
        1: _("Same NACE section as a consortium member (%(nace)s)", nace=nace),
    }
    return best, labels.get(best)


def score(profile: PartnerProfile, consortium: Consortium) -> Suggestion:
    suggestion = Suggestion(profile)

    def add(points: float, reason: str) -> None:
        suggestion.score += points
        suggestion.reasons.append(reason)

    shared = sorted(consortium.ecosystems & set(profile.ecosystems))
    if shared:
        add(3 * len(shared), _("Ecosystems in common: %(names)s", names=", ".join(shared)))
    points, label = _nace_points(profile.nace, consortium.naces)
    if points:
        add(points, label)
    if profile.kind in RESEARCH_KINDS and profile.kind in consortium.missing_kinds:
        add(
            3,
            _(
                "%(kind)s: the consortium has no university or research organisation",
                kind=KINDS[profile.kind],
            ),
        )
    elif profile.kind == "firm" and "firm" in consortium.missing_kinds:
        add(2, _("Firm: the consortium has none"))
    funded = (profile.programmes or {}).get(consortium.programme, 0)
    if funded:
        add(
            2 + min(funded, 3),
            ngettext(
                "%(num)s funded project in %(programme)s",
                "%(num)s funded projects in %(programme)s",
                funded,
                programme=consortium.programme,
            ),
        )
    return suggestion


def suggest(
    project: Project, organisations: list[Organisation], tenant_id: int
) -> list[Suggestion]:
    """The best-ranked profiles of other associations for the project."""
    consortium = Consortium.of(project, organisations)
    wanted = [
        *(
            PartnerProfile.ecosystem_codes.contains(f"|{c}|", autoescape=True)
            for c in sorted(consortium.ecosystems)
        ),
        PartnerProfile.programme_codes.contains(f"|{consortium.programme}|", autoescape=True),
        PartnerProfile.kind.in_(consortium.missing_kinds),
    ]
    candidates = db.session.scalars(
        select(PartnerProfile)
        .where(PartnerProfile.tenant_id != tenant_id, or_(*wanted))
        .order_by(PartnerProfile.id)
        .limit(CANDIDATES)
    ).all()
    ranked = [
        s
        for s in (score(p, consortium) for p in candidates)
        if s.score > 0 and (s.profile.country, name_key(s.profile.name)) not in consortium.keys
    ]
    ranked.sort(key=lambda s: (-s.score, s.profile.name, s.profile.id))
    return ranked[:LIMIT]


def published_profile(profile_id: int, tenant_id: int) -> PartnerProfile | None:
    """Another association's published profile, or None (withdrawn, own or unknown)."""
    return db.session.scalar(
        select(PartnerProfile).where(
            PartnerProfile.id == profile_id, PartnerProfile.tenant_id != tenant_id
        )
    )
