"""Unbound extension singletons, bound to an app by ``create_app``."""

from flask import current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from crm.models.base import Base

db = SQLAlchemy(model_class=Base)
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def redis_connection():
    """The app's Redis connection, or None in the embedded (in-process) mode."""
    return current_app.extensions.get("crm.redis")
