"""Mailings: a message written once with merge fields, sent to a directory
selection (or a segment) with consent, as a background job with per-recipient
status; and the renewal reminders built on them (issue 15). See
docs/communications.md."""

from flask import Blueprint

bp = Blueprint("mailings", __name__)

from crm.mailings import views  # noqa: E402, F401
