"""HTML built in Python for speed says exactly what the templates and WTForms said."""

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import Form, SelectField
from wtforms.widgets import Select

from crm.core.html import options, url_stem
from crm.forms import QuickSelect, optional_id, select_choices


def test_quick_select_writes_what_wtforms_writes():
    class Filters(Form):
        slow = SelectField("Slow", coerce=optional_id, widget=Select())
        quick = SelectField("Quick", coerce=optional_id, widget=QuickSelect())

    form = Filters(MultiDict({"slow": "2", "quick": "2"}))
    choices = select_choices([(None, "any"), (1, "A & <b>"), (2, "Two"), (True, "yes")])
    form.slow.choices = form.quick.choices = choices
    form.validate()
    assert form.quick().replace("quick", "x") == form.slow().replace("slow", "x")
    assert '<option selected value="2">Two</option>' in form.quick()
    assert "A &amp; &lt;b&gt;" in form.quick()


def test_options_escape_and_select_one():
    html = options({"a": "Alpha & co", "b": "<b>"}, "b")
    assert html == (
        '<option value="a">Alpha &amp; co</option><option value="b" selected>&lt;b&gt;</option>'
    )
    assert options([(1, "One"), (2, "Two")], None).count(" selected") == 0


def test_url_stem_is_the_url_without_its_trailing_id(app):
    from flask import g

    with app.test_request_context("/"):
        g.tenant = type("Tenant", (), {"slug": "acme"})()
        assert url_stem("members.show", "org_id") == "/acme/members/"
        with pytest.raises(ValueError):
            url_stem("members.edit", "org_id")  # /acme/members/<id>/edit
