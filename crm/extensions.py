"""Unbound extension singletons, bound to an app by ``create_app``."""

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from crm.models.base import Base

# Pages beyond this are empty anyway; a page number near 2**63 would make
# OFFSET overflow on PostgreSQL.
MAX_PAGE = 1_000_000


class Database(SQLAlchemy):
    def paginate(self, select, *, page=None, per_page=None, **kwargs):
        """``db.paginate`` with ``?page=`` and ``?per_page=`` clamped to sane
        ranges (a non-number is page 1), so no query string makes SQL fail."""
        page = page if page is not None else _bounded_arg("page", 1, MAX_PAGE)
        per_page = per_page if per_page is not None else _bounded_arg("per_page", 20, 100)
        return super().paginate(select, page=page, per_page=per_page, **kwargs)


def _bounded_arg(name: str, default: int, high: int) -> int:
    return bounded_arg(request.args, name, default, high) if request else default


def bounded_arg(args, name: str, default: int, high: int) -> int:
    """A positive integer query parameter within ``high`` (a non-number is ``default``)."""
    return min(max(args.get(name, default, type=int), 1), high)


db = Database(model_class=Base)
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def redis_connection():
    """The app's Redis connection, or None in the embedded (in-process) mode."""
    return current_app.extensions.get("crm.redis")
