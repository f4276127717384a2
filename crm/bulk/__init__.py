"""Bulk actions on rows chosen in the directory or the contacts list (ticked rows,
"all N matching", or a saved segment): tag, untag, change membership status,
export, add to a mailing. Large ones run as a background job with progress."""

from flask import Blueprint

bp = Blueprint("bulk", __name__)

from crm.bulk import views  # noqa: E402, F401
