"""The alliance office's pages: aggregate figures only."""

from flask import Blueprint

bp = Blueprint("alliance", __name__, url_prefix="/alliance")

from crm.alliance import views  # noqa: E402, F401
