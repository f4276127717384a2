"""Alliance partner search: the profiles associations publish with their
organisations' consent, searched across the alliance, and the partners it
suggests for a proposal (issue 11, items 2 and 4). See docs/partners.md."""

from flask import Blueprint

bp = Blueprint("profiles", __name__)

from crm.profiles import views  # noqa: E402, F401
