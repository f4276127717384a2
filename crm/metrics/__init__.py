"""Metrics snapshots: a tenant's own figures."""

from flask import Blueprint

bp = Blueprint("metrics", __name__)

from crm.metrics import views  # noqa: E402, F401
