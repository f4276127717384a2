"""Member management: directory, organisation pages, membership lifecycle, contacts, dashboard."""

from flask import Blueprint

bp = Blueprint("members", __name__)

from crm.members import views  # noqa: E402, F401
