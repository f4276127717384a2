"""Renewals: the renewal lists (overdue, due soon, lapsed, applicants) and payments."""

from flask import Blueprint

bp = Blueprint("renewals", __name__)

from crm.renewals import views  # noqa: E402, F401
