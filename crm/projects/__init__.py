"""Projects and participations; the cluster manager's area."""

from flask import Blueprint

bp = Blueprint("projects", __name__)

from crm.projects import views  # noqa: E402, F401
