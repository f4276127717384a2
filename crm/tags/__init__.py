"""Tags on organisations and contacts: the association's own vocabulary, added and
removed one by one (organisation page) or in bulk (``crm.bulk``), filtered on in
the directory and the contacts list, managed (rename, delete) on their page."""

from flask import Blueprint

bp = Blueprint("tags", __name__)

from crm.tags import views  # noqa: E402, F401
