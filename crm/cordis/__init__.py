"""CORDIS: the EU's published grants as reference data, and each association's
reconciliation of its members' participations with them."""

from flask import Blueprint

bp = Blueprint("cordis", __name__)

from crm.cordis import views  # noqa: E402, F401
