"""Sign-in throttling that slows guessing down without locking anyone out.

Failures are counted per (account, address). The first LOGIN_FREE_FAILURES
cost nothing; after that each attempt from that address for that account must
wait LOGIN_FIRST_DELAY seconds after the last failure, doubling with each
further failure up to LOGIN_MAX_DELAY. An attempt made during the wait is
refused without looking at the password; one made after it is checked, so the
right password always gets in within LOGIN_MAX_DELAY seconds. Someone guessing
from elsewhere never slows the owner down, and a success forgets the pair.

Why not a lockout: a lock per account lets anyone keep an administrator out,
and one per address locks out everyone behind the same proxy. Why not an
address-wide count: behind a proxy without TRUSTED_PROXIES every user shares
one address. Guessing stays bounded all the same: at most about one guess a
minute per account and address, against argon2 hashes of 12+ characters.

The counters live in Redis when REDIS_URL is set (shared by every web process),
else in this process's memory (the embedded mode). When Redis does not answer,
sign-in keeps working: the counters fall back to this process's memory (a
warning is logged), for REDIS_RETRY_AFTER seconds before Redis is tried again.
In memory rather than in the database because the fallback must cost nothing
while the outage lasts (no write per failed attempt on the one store that is
still up, no table for a rare case) and cannot fail in turn; the price is that
during an outage each web process counts on its own, so guessing is slowed
per process rather than per site, still bounded, and the memory is bounded
too (MEMORY_PAIRS pairs; the oldest are dropped first).
"""

from __future__ import annotations

import hashlib
import math
import threading
import time

from flask import current_app
from redis.exceptions import RedisError

from crm.extensions import redis_connection

_KEY = "crm.login_throttle"
_PREFIX = "crm:login-failures:"
MEMORY_PAIRS = 10_000


def _now() -> float:
    return time.time()


def _settings() -> tuple[int, float, float, int]:
    cfg = current_app.config
    return (
        cfg["LOGIN_FREE_FAILURES"],
        cfg["LOGIN_FIRST_DELAY"],
        cfg["LOGIN_MAX_DELAY"],
        cfg["LOGIN_FAILURE_MEMORY"],
    )


def _pair(email: str, address: str | None) -> str:
    # Hashed: a fixed-length key whatever was typed in the e-mail field.
    raw = f"{email.strip().lower()}\n{address or ''}".encode()
    return _PREFIX + hashlib.sha256(raw).hexdigest()


class _MemoryStore:
    """Failures of this process: pair -> (count, time of the last failure)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pairs: dict[str, tuple[int, float]] = {}

    def get(self, key: str) -> tuple[int, float]:
        return self._pairs.get(key, (0, 0.0))

    def add_failure(self, key: str, now: float, memory: int) -> None:
        with self._lock:
            count, last = self._pairs.get(key, (0, 0.0))
            self._pairs[key] = (count + 1 if now - last <= memory else 1, now)
            if len(self._pairs) > MEMORY_PAIRS:
                self._shrink(now, memory)

    def _shrink(self, now: float, memory: int) -> None:
        """Forget the stale pairs; if that is not enough, the older half (a flood of
        made-up addresses must not grow the process without bound)."""
        self._pairs = {k: v for k, v in self._pairs.items() if now - v[1] <= memory}
        if len(self._pairs) > MEMORY_PAIRS:
            newest = sorted(self._pairs.items(), key=lambda item: item[1][1])[MEMORY_PAIRS // 2 :]
            self._pairs = dict(newest)

    def clear(self, key: str) -> None:
        with self._lock:
            self._pairs.pop(key, None)

    def reset(self) -> None:
        with self._lock:
            self._pairs.clear()


class _RedisStore:
    """The same in Redis: a hash per pair (count, last) that expires on its own."""

    def __init__(self, redis) -> None:
        self.redis = redis

    def get(self, key: str) -> tuple[int, float]:
        count, last = self.redis.hmget(key, "count", "last")
        return int(count or 0), float(last or 0.0)

    def add_failure(self, key: str, now: float, memory: int) -> None:
        count, last = self.get(key)
        with self.redis.pipeline() as pipe:  # MULTI/EXEC: the three land together
            if count and now - last > memory:
                pipe.delete(key)
            pipe.hincrby(key, "count", 1)
            pipe.hset(key, "last", repr(now))
            pipe.expire(key, memory)
            pipe.execute()

    def clear(self, key: str) -> None:
        self.redis.delete(key)

    def reset(self) -> None:
        keys = list(self.redis.scan_iter(match=_PREFIX + "*", count=1000))
        if keys:
            self.redis.delete(*keys)


class _FallbackStore:
    """Redis while it answers; this process's memory while it does not."""

    def __init__(self, redis, retry_after: float) -> None:
        self.redis = _RedisStore(redis)
        self.memory = _MemoryStore()
        self.retry_after = retry_after
        self._redis_down_until = 0.0  # time.monotonic()

    def _call(self, name: str, *args):
        if time.monotonic() >= self._redis_down_until:
            try:
                return getattr(self.redis, name)(*args)
            except RedisError as error:
                self._redis_down_until = time.monotonic() + self.retry_after
                current_app.logger.warning(
                    "login throttle: Redis does not answer (%s); counting failures in this "
                    "process's memory for %s s",
                    error,
                    self.retry_after,
                )
        return getattr(self.memory, name)(*args)

    def get(self, key: str) -> tuple[int, float]:
        return self._call("get", key)

    def add_failure(self, key: str, now: float, memory: int) -> None:
        self._call("add_failure", key, now, memory)

    def clear(self, key: str) -> None:
        self.memory.clear(key)  # counted there during an outage, perhaps
        self._call("clear", key)

    def reset(self) -> None:
        self.memory.reset()
        self._call("reset")


def _store():
    store = current_app.extensions.get(_KEY)
    if store is None:
        redis = redis_connection()
        if redis is None:
            store = _MemoryStore()
        else:
            store = _FallbackStore(redis, current_app.config["REDIS_RETRY_AFTER"])
        current_app.extensions[_KEY] = store
    return store


def _enabled() -> bool:
    return current_app.config.get("RATELIMIT_ENABLED", True)


def delay_after(failures: int) -> float:
    """Seconds to wait after the ``failures``-th failure before the next attempt."""
    free, first, cap, _ = _settings()
    if failures < free:
        return 0.0
    return float(min(first * 2 ** (failures - free), cap))


def wait_seconds(email: str, address: str | None) -> int:
    """Whole seconds this account must still wait from this address (0: go ahead)."""
    if not _enabled():
        return 0
    count, last = _store().get(_pair(email, address))
    elapsed = _now() - last
    if elapsed > _settings()[3]:
        return 0
    remaining = delay_after(count) - elapsed
    return math.ceil(remaining) if remaining > 0 else 0


def record_failure(email: str, address: str | None) -> None:
    if _enabled():
        _store().add_failure(_pair(email, address), _now(), _settings()[3])


def clear(email: str, address: str | None) -> None:
    """A successful sign-in forgets this pair's failures."""
    if _enabled():
        _store().clear(_pair(email, address))


def reset_all() -> None:
    """Forget every counter (tests, or an operator after an incident)."""
    _store().reset()
