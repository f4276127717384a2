"""The alliance admin's pages: list associations, create one with its first administrator."""

from flask import Blueprint

bp = Blueprint("tenants_admin", __name__, url_prefix="/alliance/associations")

from crm.tenants_admin import views  # noqa: E402, F401
