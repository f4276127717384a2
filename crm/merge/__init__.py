"""Duplicates and merge: the association's report of likely duplicate pairs, and
merging two organisations into one (``services``, ``repoint``)."""

from flask import Blueprint

bp = Blueprint("merge", __name__)

from crm.merge import views  # noqa: E402, F401
