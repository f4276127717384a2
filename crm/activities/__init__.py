"""Activities (notes, calls, meetings) and the timeline of an organisation or contact."""

from flask import Blueprint

bp = Blueprint("activities", __name__)

from crm.activities import views  # noqa: E402, F401
