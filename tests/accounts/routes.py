"""Walking ``app.url_map``: which rules take object ids, and how to fill their arguments."""

from __future__ import annotations

from werkzeug.routing import Rule
from werkzeug.routing.converters import AnyConverter, IntegerConverter

# Every object id a URL may carry; the isolation matrix covers exactly these.
ID_NAMES = (
    "org_id",
    "contact_id",
    "project_id",
    "participation_id",
    "user_id",
    "run_id",
    "batch_id",
    "segment_id",
    "tag_id",
    "payment_id",
    "activity_id",
    "message_id",
    "mailing_id",
)
# Ids of rows shared between associations by design (partner requests and their
# interests): another association's id is readable, so these routes get their own
# matrix (``test_isolation_matrix.test_shared_request_routes``).
SHARED_ID_NAMES = ("request_id", "interest_id")
CHECKED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def int_args(rule: Rule) -> list[str]:
    return [name for name, conv in rule._converters.items() if isinstance(conv, IntegerConverter)]


def id_args(rule: Rule) -> list[str]:
    return [name for name in int_args(rule) if name in ID_NAMES]


def shared_id_args(rule: Rule) -> list[str]:
    return [name for name in int_args(rule) if name in SHARED_ID_NAMES]


def other_int_args(rule: Rule) -> list[str]:
    return [name for name in int_args(rule) if name not in (*ID_NAMES, *SHARED_ID_NAMES)]


def placeholder(rule: Rule, name: str) -> str:
    """A value for a non-id argument that the rule's converter accepts."""
    conv = rule._converters.get(name)
    if isinstance(conv, AnyConverter):
        return next(iter(conv.items)) if hasattr(conv, "items") else "x"
    return "x"


def build_path(rule: Rule, slug: str, ids: dict[str, int]) -> str:
    """The path of ``rule`` with ``slug`` for the tenant and ``ids`` for object ids.

    Fails loudly for an id argument nobody knows how to make, so a new kind of
    object id cannot slip past the isolation tests.
    """
    values = {}
    for name in rule.arguments:
        if name == "tenant":
            values[name] = slug
        elif name in ID_NAMES or name in SHARED_ID_NAMES:
            if name not in ids:
                raise AssertionError(f"no object maker for <int:{name}> in {rule.rule}")
            values[name] = ids[name]
        elif name in int_args(rule):
            values[name] = 1
        else:
            values[name] = placeholder(rule, name)
    return rule.build(values, append_unknown=False)[1]


def methods(rule: Rule) -> list[str]:
    return [m for m in CHECKED_METHODS if m in (rule.methods or ())]


def tenant_rules(app) -> list[Rule]:
    return [r for r in app.url_map.iter_rules() if "tenant" in r.arguments]


def get_rules(app) -> list[Rule]:
    return [r for r in app.url_map.iter_rules() if "GET" in (r.methods or ())]
