"""Logging in and out, passwords, users of a tenant."""

from flask import Blueprint

bp = Blueprint("accounts", __name__)

from crm.accounts import views  # noqa: E402, F401
