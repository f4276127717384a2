"""Login throttling: failed attempts counted per account and per address.

Only failures count, so a user who signs in correctly is never slowed down.
The counters live in the rate-limit storage of the ``limits`` library that
Flask-Limiter uses (Redis when REDIS_URL is set, else this process's memory),
one storage per app: the shared ``limiter`` singleton keeps a single storage
for whichever app was initialised last.
"""

from __future__ import annotations

from flask import current_app
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

_KEY = "crm.login_throttle"


def _strategy() -> FixedWindowRateLimiter:
    strategy = current_app.extensions.get(_KEY)
    if strategy is None:
        storage = storage_from_string(current_app.config["RATELIMIT_STORAGE_URI"])
        strategy = current_app.extensions[_KEY] = FixedWindowRateLimiter(storage)
    return strategy


def _limits(email: str, address: str | None):
    cfg = current_app.config
    account = (parse(cfg["LOGIN_FAILURES_PER_ACCOUNT"]), "login-failures", "account", email)
    yield account
    if address:
        yield (parse(cfg["LOGIN_FAILURES_PER_ADDRESS"]), "login-failures", "address", address)


def _enabled() -> bool:
    return current_app.config.get("RATELIMIT_ENABLED", True)


def is_throttled(email: str, address: str | None) -> bool:
    """True when this account or this address has used up its failures."""
    if not _enabled():
        return False
    email = email.strip().lower()
    return any(not _strategy().test(item, *ids) for item, *ids in _limits(email, address))


def record_failure(email: str, address: str | None) -> None:
    if _enabled():
        for item, *ids in _limits(email.strip().lower(), address):
            _strategy().hit(item, *ids)


def clear_account(email: str) -> None:
    """A successful login forgives the account's earlier failures (not the address's)."""
    if _enabled():
        item, *ids = next(_limits(email.strip().lower(), None))
        _strategy().clear(item, *ids)


def reset_all() -> None:
    """Forget every counter (tests, or an operator after an incident)."""
    _strategy().storage.reset()
