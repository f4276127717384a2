"""Property-based: no form, list parameter or id in a URL answers 500, whatever is sent.

Routes come from ``app.url_map``; the fields of a route's form from the
WTForms form the route really builds (recorded while it answers); the query
parameters of a page from the names its own HTML uses (inputs, selects and
links). A new route, form field or filter is covered without editing this file.
"""

from __future__ import annotations

import io
from html.parser import HTMLParser
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wtforms import BooleanField, FileField, SelectFieldBase, SelectMultipleField

from crm import create_app
from crm.accounts.services import issue_reset_token
from crm.forms import Form
from crm.tenancy import tenant_scope
from tests.accounts import routes

FUZZ = settings(
    max_examples=30,
    deadline=None,
    database=None,  # nothing written to the worktree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# What the probe sent: NUL and other control characters, numbers far beyond
# any column, dates at the ends of the calendar, very long text.
HOSTILE = [
    "\x00",
    "a\x00b",
    "\r\n",
    "\t",
    "\x1b[0m",
    "\x7f",
    str(2**70),
    str(-(2**70)),
    str(2**63),
    "9" * 40,
    "-1",
    "0",
    "1e309",
    "NaN",
    "0001-01-01",
    "9999-12-31",
    "2024-02-30",
    "x" * 100_000,
    "",
    " ",
    "'; DROP TABLE users; --",
    "%00",
    "../../etc/passwd",
]
# The values that did answer 500 (on PostgreSQL), drawn as often as all the rest.
FOUND = ["\x00", "a\x00b", "x" * 100_000, "9999-12-31", str(2**70)]
TEXT = st.one_of(st.sampled_from(FOUND), st.sampled_from(HOSTILE), st.text(max_size=40))
HUGE_INTS = st.one_of(
    st.sampled_from([2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, 2**70, 0, -1, -(2**70)]),
    st.integers(min_value=-(2**70), max_value=2**70),
)
VISITORS = ("anonymous", "tenant_admin", "cluster_manager", "alliance_admin")


def _app_rules():
    # A throwaway app just to read the url_map at collection time.
    app = create_app({"ENV": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static"]


RULES = _app_rules()
POST_ENDPOINTS = sorted({r.endpoint for r in RULES if "POST" in (r.methods or ())})
GET_ENDPOINTS = sorted({r.endpoint for r in RULES if "GET" in (r.methods or ())})
INT_ENDPOINTS = sorted({r.endpoint for r in RULES if routes.int_args(r)})


@pytest.fixture
def forms_built(monkeypatch):
    """The forms (instances of ``crm.forms.Form``) built while a request runs."""
    built: list[Form] = []
    init = Form.__init__

    def recording_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        built.append(self)

    monkeypatch.setattr(Form, "__init__", recording_init)
    return built


@pytest.fixture
def site(app, make, session, two_tenants, signed_in):
    """Tenant A's objects, and a way to get a client for a rule: the first
    visitor the rule lets in (a fresh, signed-in client each time, since a
    fuzzed sign-out ends that user's sessions)."""
    a = two_tenants.a
    alliance_admin = make.user(None, role="alliance_admin")
    users = {**a.users, "alliance_admin": alliance_admin}
    with tenant_scope(a.tenant.id):
        values = {**a.ids, "tenant": a.tenant.slug}
        values["token"] = issue_reset_token(session, a.users["secretariat"])
        session.flush()  # its audit event, inside the tenant's scope

    def client_for(who: str):
        return app.test_client() if who == "anonymous" else signed_in(users[who])

    def path(endpoint: str, **override) -> tuple[object, str]:
        rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
        known = {**values, **override}
        args = {
            name: known[name] if name in known else _placeholder(rule, name)
            for name in rule.arguments
        }
        return rule, rule.build(args, append_unknown=False)[1]

    def visitor(endpoint: str, method: str) -> str:
        _, url = path(endpoint)
        for who in VISITORS:
            response = client_for(who).open(url, method=method)
            sent_to_login = "/login?next=" in response.headers.get("Location", "")
            if response.status_code != 404 and not sent_to_login:
                return who
        return "anonymous"

    return SimpleNamespace(client_for=client_for, path=path, visitor=visitor)


def _placeholder(rule, name):
    if name in routes.ID_NAMES:
        raise AssertionError(f"no object maker for <int:{name}> in {rule.rule}")
    return 1 if name in routes.int_args(rule) else routes.placeholder(rule, name)


def _field_values(field):
    """A strategy of submitted values for one bound WTForms field."""
    if isinstance(field, FileField):
        contents = st.sampled_from([b"", b"name;country\nA;FR\n", b"\x00\xff" * 50])
        return st.tuples(contents, TEXT).map(lambda cf: (io.BytesIO(cf[0]), cf[1] or "f.csv"))
    if isinstance(field, BooleanField):
        return st.sampled_from(["y", "", "\x00", "1" * 1000])
    if isinstance(field, SelectFieldBase):
        choices = [str(value) for value, *_ in field.iter_choices()]
        pick = st.one_of(st.sampled_from(choices), TEXT) if choices else TEXT
        if isinstance(field, SelectMultipleField):
            return st.lists(pick, max_size=4)
        return pick
    return st.one_of(TEXT, HUGE_INTS.map(str))


def _shown_value(field):
    """What the page shows in ``field``: an edit page's values are a valid
    submission, into which a few hostile values are then mixed."""
    if isinstance(field, FileField):
        return None
    if isinstance(field, BooleanField):
        return "y" if field.data else None
    if isinstance(field, SelectMultipleField):
        return [str(v) for v in field.data or ()]
    if isinstance(field, SelectFieldBase):
        return "" if field.data is None else str(field.data)
    return field._value()


def _shown_values(forms) -> dict:
    return {
        f.name: value
        for form in forms
        for f in form
        if f.name != "csrf_token" and (value := _shown_value(f)) is not None
    }


def _related(form, other) -> bool:
    """Built from the same form class (or a common base below ``Form``)."""
    return bool(set(type(form).__mro__) & set(type(other).__mro__) - set(Form.__mro__))


def _borrowed_values(site, forms_built, posted) -> dict:
    """A blank "new" page shows no valid submission; an edit page of the same
    form does: its values, for the fields it fills."""
    values: dict = {}
    for endpoint in POST_ENDPOINTS:
        rule, url = site.path(endpoint)
        if "GET" not in rule.methods:
            continue
        forms_built.clear()
        site.client_for(site.visitor(endpoint, "GET")).get(url)
        related = [f for f in forms_built if any(_related(f, p) for p in posted)]
        values.update({k: v for k, v in _shown_values(related).items() if v})
    return values


def _form_data(posted, good):
    """Either every field at random, or a valid submission (``good``) with one
    to three fields replaced, so the hostile value gets past the other fields'
    checks and reaches the service and the database."""
    fields = {f.name: _field_values(f) for form in posted for f in form if f.name != "csrf_token"}
    if not fields:
        return st.just({})
    good = {name: value for name, value in good.items() if name in fields}

    @st.composite
    def mixed(draw):
        chosen = draw(st.sets(st.sampled_from(sorted(fields)), min_size=1, max_size=3))
        data = {name: value for name, value in good.items() if name not in chosen}
        for name in chosen:
            data[name] = draw(fields[name])
        return data

    return st.one_of(mixed(), st.fixed_dictionaries({}, optional=fields))


def _sweep(posted, good):
    """Deterministic next to the random examples: each field in turn gets each
    value that answered 500 before, the other fields keep their valid values."""
    for form in posted:
        for field in form:
            if field.name == "csrf_token":
                continue
            for value in FOUND:
                if isinstance(field, FileField):
                    value = (io.BytesIO(b"name;country\nA;FR\n"), value)
                elif isinstance(field, SelectMultipleField):
                    value = [value]
                yield {**good, field.name: value}


class _Names(HTMLParser):
    """The query parameter names a page uses: its form controls and link queries."""

    def __init__(self):
        super().__init__()
        self.names: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("input", "select", "textarea") and attrs.get("name"):
            self.names.add(attrs["name"])
        if tag == "a" and attrs.get("href") and "?" in attrs["href"]:
            self.names.update(k for k, _ in parse_qsl(urlsplit(attrs["href"]).query))


def _query_names(html: str) -> list[str]:
    parser = _Names()
    parser.feed(html)
    return sorted((parser.names | {"page", "per_page"}) - {"csrf_token"})


def _never_500(examples, send, label: str) -> None:
    """``send`` each generated example (a request); none may answer 500."""

    @FUZZ
    @given(example=examples)
    def check(example):
        status = send(example).status_code
        assert status < 500, f"{label} {example!r:.300} -> {status}"

    check()


@pytest.mark.parametrize("endpoint", POST_ENDPOINTS)
def test_no_form_input_answers_500(site, forms_built, endpoint):
    who = site.visitor(endpoint, "POST")
    rule, url = site.path(endpoint)
    forms_built.clear()
    if "GET" in rule.methods:
        site.client_for(who).get(url)
    shown = _shown_values(forms_built)
    forms_built.clear()
    site.client_for(who).post(url, data={})
    posted = list(forms_built)
    if sum(1 for v in shown.values() if v) < len(shown) / 2:
        shown = {
            **_borrowed_values(site, forms_built, posted),
            **{k: v for k, v in shown.items() if v},
        }
    for data in _sweep(posted, shown):
        status = site.client_for(who).post(url, data=data).status_code
        assert status < 500, f"{who} POST {url} {data!r:.300} -> {status}"
    data = _form_data(posted, shown)
    _never_500(data, lambda d: site.client_for(who).post(url, data=d), f"{who} POST {url}")


@pytest.mark.parametrize("endpoint", GET_ENDPOINTS)
def test_no_query_string_answers_500(site, endpoint):
    who = site.visitor(endpoint, "GET")
    _, url = site.path(endpoint)
    page = site.client_for(who).get(url)
    names = _query_names(page.get_data(as_text=True)) if page.mimetype == "text/html" else []
    query = st.lists(
        st.tuples(st.sampled_from(names or ["page"]), st.one_of(TEXT, HUGE_INTS.map(str))),
        max_size=5,
    )
    _never_500(query, lambda q: site.client_for(who).get(url, query_string=q), f"{who} GET {url}")


@pytest.mark.parametrize("endpoint", INT_ENDPOINTS)
def test_no_integer_in_a_path_answers_500(site, endpoint):
    rule, _ = site.path(endpoint)
    method = "GET" if "GET" in rule.methods else "POST"
    who = site.visitor(endpoint, method)
    names = routes.int_args(rule)

    def send(numbers):
        response = site.client_for(who).open(site.path(endpoint, **numbers)[1], method=method)
        if any(abs(n) > 2**31 - 1 for n in numbers.values()):
            assert response.status_code == 404, f"{numbers} -> {response.status_code}"
        return response

    numbers = st.fixed_dictionaries({name: HUGE_INTS for name in names})
    _never_500(numbers, send, f"{who} {method} {rule.rule}")


def test_every_kind_of_route_is_fuzzed():
    assert len(POST_ENDPOINTS) >= 20 and len(GET_ENDPOINTS) >= 30 and len(INT_ENDPOINTS) >= 15
