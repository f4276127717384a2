"""Pages that belong to no area: home, health check, security headers, errors."""

from flask import Blueprint

bp = Blueprint("core", __name__)

from crm.core import views  # noqa: E402, F401
