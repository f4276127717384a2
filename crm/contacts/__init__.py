"""The contacts list: search, filters, pages and exports of the association's contacts."""

from flask import Blueprint

bp = Blueprint("contacts", __name__)

from crm.contacts import views  # noqa: E402, F401
