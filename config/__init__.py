"""Settings: defaults, then one environment's overrides, then the process environment.

Nothing else in the project reads ``os.environ``.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
INSECURE_KEY = "dev-only-insecure-key"


class Default:
    SECRET_KEY = INSECURE_KEY
    SQLALCHEMY_DATABASE_URI = f"sqlite:///{ROOT / 'instance' / 'crm.sqlite3'}"
    # The owner role runs migrations; the app connects as a role that cannot bypass RLS.
    MIGRATION_DATABASE_URL = None
    # The one narrow path for alliance-wide aggregates (a role that may read across tenants).
    METRICS_DATABASE_URL = None
    REDIS_URL = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = 14 * 24 * 3600
    MAX_CONTENT_LENGTH = 64 * 1024 * 1024
    # A CORDIS export uploaded on the alliance page (larger ones: `crm cordis load`).
    CORDIS_UPLOAD_MAX_BYTES = 60 * 1024 * 1024
    WTF_CSRF_TIME_LIMIT = None
    PAGE_SIZE = 50
    # Import files above this many rows run as a background job.
    IMPORT_INLINE_MAX_ROWS = 5000
    # What one import may hold (docs/imports.md, "Upload limits"): checked before a
    # file is parsed where its size is stated, and while it is read.
    IMPORT_MAX_ROWS = 250_000
    IMPORT_MAX_COLUMNS = 200
    IMPORT_MAX_CELL_CHARS = 32_767  # Excel's own limit
    IMPORT_MAX_CELLS = 10_000_000  # rows x columns a sheet states
    IMPORT_MAX_DECOMPRESSED_BYTES = 512 * 1024 * 1024  # a workbook's unpacked members
    IMPORT_MAX_COMPRESSION_RATIO = 200  # per member above 1 MB unpacked
    # The child process that parses an upload: address space and CPU time.
    IMPORT_PARSE_MEMORY_BYTES = 1024 * 1024 * 1024
    IMPORT_PARSE_CPU_SECONDS = 120
    # Stored import files (original and staged table) per association, and how
    # long they are kept.
    IMPORT_QUOTA_BYTES = 256 * 1024 * 1024
    IMPORT_RETENTION_DAYS = 30
    # Sign-in throttling per (account, address): after this many failures each
    # further attempt waits, 2 s then doubling up to the cap; the right password
    # is accepted once the wait is over (see crm/accounts/throttle.py).
    LOGIN_FREE_FAILURES = 5
    LOGIN_FIRST_DELAY = 2
    LOGIN_MAX_DELAY = 60
    # Failures are forgotten this many seconds after the last one.
    LOGIN_FAILURE_MEMORY = 15 * 60
    # "Forgot password?" (crm/accounts/forgotten.py): requests per client (then a
    # 429 page), and links sent per address (then the same answer, nothing sent).
    FORGOT_PASSWORD_PER_CLIENT = "10 per 15 minutes"
    FORGOT_PASSWORD_PER_ADDRESS = "3 per hour"
    # Reverse proxies in front of the app whose X-Forwarded-* headers are believed.
    TRUSTED_PROXIES = 0
    # Where people reach the app (https://crm.example.org): absolute links are
    # built from it, never from the request's Host header. Required in production.
    BASE_URL = None
    # Outgoing e-mail (crm/mail/transport.py): smtp://[user:password@]host[:port]
    # (?starttls=1) or smtps://…; without it messages land in the database outbox.
    SMTP_URL = None
    # The sender when an association has not set its own (tenants.mail_from).
    MAIL_FROM = "no-reply@cluster-alliance.example.org"
    # Sent only in production, where the site is served over HTTPS alone.
    STRICT_TRANSPORT_SECURITY = None
    # Background jobs, per kind (crm.jobs.start_run): the seconds a run may take
    # before rq stops it, how many times rq retries a failed run, and the seconds
    # it waits before each retry (with more retries than intervals, rq repeats the first).
    JOBS = {
        "metrics.alliance": {"timeout": 300, "retries": 2, "retry_intervals": [30, 120]},
        "metrics.tenant": {"timeout": 300, "retries": 2, "retry_intervals": [30, 120]},
        # An import is not retried: a half-failed commit is for a person to look at.
        "import.dry_run": {"timeout": 600, "retries": 0, "retry_intervals": []},
        "import.commit": {"timeout": 600, "retries": 0, "retry_intervals": []},
        # An export only reads: running it again gives the same file.
        "export.xlsx": {"timeout": 600, "retries": 1, "retry_intervals": [30]},
        # A CORDIS load is all-or-nothing and idempotent, but a bad file fails again.
        "cordis": {"timeout": 1800, "retries": 0, "retry_intervals": []},
        # Bulk actions on selected rows (crm.bulk): tagging again changes nothing; a
        # status change run again reports the rows already changed as refused.
        "bulk": {"timeout": 1800, "retries": 1, "retry_intervals": [30]},
        # A mailing retries its own failed recipients (MAILING_RETRY_DELAYS); a
        # retried run never sends twice (crm/mailings/sending.py), so rq may retry
        # a run that died. The limit covers the retry waits and 10,000 messages
        # at the default rate.
        "mailing.send": {"timeout": 3 * 3600, "retries": 1, "retry_intervals": [60]},
        # The nightly renewal reminders of one association (crm/mailings/reminders.py).
        "mailing.reminders": {"timeout": 1800, "retries": 1, "retry_intervals": [300]},
    }
    # A bulk action over more rows than this runs as a background job with progress.
    BULK_INLINE_MAX_ROWS = 300
    # Mailings (docs/communications.md): messages a second per sending job (an
    # association's mailing; None for no limit), recipients claimed and
    # committed per batch, and the waits in seconds before each retry round of
    # the recipients whose server answered "try again later" (4xx, lost connection).
    MAILING_RATE_PER_SECOND = 10
    MAILING_BATCH_SIZE = 50
    MAILING_RETRY_DELAYS = [60, 300, 900]
    # An XLSX export of more rows than this is built by a background job (the
    # page shows its progress, then a download link); a CSV always streams.
    EXPORT_XLSX_INLINE_MAX_ROWS = 3000
    # How long a built export file is kept, and how long one download link works
    # (the export's page makes a new link while the file is kept).
    EXPORT_FILE_HOURS = 24
    EXPORT_LINK_SECONDS = 3600
    # How long rq keeps a finished job's result, and a failed job (for `rq requeue`).
    JOB_RESULT_TTL = 24 * 3600
    JOB_FAILURE_TTL = 7 * 24 * 3600
    # The nightly alliance refresh (crm/metrics/schedule.py, read by `rq cron`
    # from this class: that process builds no app, so overrides do not reach it).
    NIGHTLY_METRICS_TIMEOUT = 600
    # Redis when REDIS_URL is set (see crm/__init__.py), else this process's memory.
    RATELIMIT_STORAGE_URI = "memory://"
    # Seconds the app waits for Redis to connect or answer: an unreachable Redis
    # must cost a sign-in or a page this much at most (docs/faults.md).
    REDIS_TIMEOUT = 2
    # After Redis failed, the login throttle counts in this process's memory for
    # this many seconds before it tries Redis again.
    REDIS_RETRY_AFTER = 30
    # PostgreSQL limits on the app's connections, in seconds: one statement of a
    # web request, and a transaction left idle (docs/faults.md). A statement past
    # the limit is cancelled and the user gets a "took too long" page (503).
    STATEMENT_TIMEOUT = 5
    IDLE_IN_TRANSACTION_TIMEOUT = 30
    # The same for background jobs (the rq worker's connections, and jobs run
    # in-process or from the command line).
    JOB_STATEMENT_TIMEOUT = 900
    JOB_IDLE_IN_TRANSACTION_TIMEOUT = 300
    # True in the rq worker's app (crm.worker): its connections take the job limits.
    JOB_PROCESS = False
    # A running job's heartbeat (crm.jobs): written every JOB_HEARTBEAT_INTERVAL
    # seconds; a run whose last beat is older than JOB_HEARTBEAT_TIMEOUT is
    # "abandoned" (its process died), and so is a run still unknown to the queue
    # JOB_ENQUEUE_GRACE seconds after it was recorded.
    JOB_HEARTBEAT_INTERVAL = 10
    JOB_HEARTBEAT_TIMEOUT = 60
    JOB_ENQUEUE_GRACE = 60


class Development(Default):
    pass


class Testing(Default):
    TESTING = True
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = True
    # Mailing tests retry at once and send unpaced (the pacing has its own test).
    MAILING_RETRY_DELAYS = [0, 0]
    MAILING_RATE_PER_SECOND = None


class Production(Default):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"


ENVIRONMENTS = {"development": Development, "testing": Testing, "production": Production}

# Environment variable -> setting name.
FROM_ENV = {
    "SECRET_KEY": "SECRET_KEY",
    "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "MIGRATION_DATABASE_URL": "MIGRATION_DATABASE_URL",
    "METRICS_DATABASE_URL": "METRICS_DATABASE_URL",
    "REDIS_URL": "REDIS_URL",
    "TRUSTED_PROXIES": "TRUSTED_PROXIES",
    "BASE_URL": "BASE_URL",
    "SMTP_URL": "SMTP_URL",
    "MAIL_FROM": "MAIL_FROM",
}


def normalise_database_url(url: str) -> str:
    """Point plain ``postgres://`` URLs at the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load(overrides: dict | None = None, environ=None) -> dict:
    """Return the settings for ``CRM_ENV`` (default development) as a dict."""
    environ = os.environ if environ is None else environ
    overrides = overrides or {}
    name = overrides.get("ENV") or environ.get("CRM_ENV", "development")
    if name not in ENVIRONMENTS:
        raise RuntimeError(f"CRM_ENV must be one of {sorted(ENVIRONMENTS)}, not {name!r}")
    cls = ENVIRONMENTS[name]
    settings = {k: getattr(cls, k) for k in dir(cls) if k.isupper()}
    settings["ENV"] = name
    for var, key in FROM_ENV.items():
        if environ.get(var):
            settings[key] = environ[var]
    settings.update(overrides)
    for key in ("SQLALCHEMY_DATABASE_URI", "MIGRATION_DATABASE_URL", "METRICS_DATABASE_URL"):
        if settings.get(key):
            settings[key] = normalise_database_url(settings[key])
    if name == "production" and settings["SECRET_KEY"] in (None, "", INSECURE_KEY):
        raise RuntimeError("production needs a real SECRET_KEY in the environment")
    if name == "production" and len(settings["SECRET_KEY"]) < 32:
        raise RuntimeError("SECRET_KEY must be at least 32 characters in production")
    settings["TRUSTED_PROXIES"] = _proxy_hops(settings["TRUSTED_PROXIES"])
    settings["BASE_URL"] = _base_url(settings["BASE_URL"], required=name == "production")
    return settings


def _proxy_hops(value) -> int:
    try:
        hops = int(value)
    except (TypeError, ValueError):
        hops = -1
    if hops < 0:
        raise RuntimeError(f"TRUSTED_PROXIES must be a count of proxies (0 or more): {value!r}")
    return hops


def _base_url(value: str | None, required: bool) -> str | None:
    """``scheme://host[/path]`` without a trailing slash, or None outside production."""
    if not value:
        if required:
            raise RuntimeError("production needs BASE_URL (https://crm.example.org) to build links")
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise RuntimeError(f"BASE_URL must look like https://crm.example.org, not {value!r}")
    return value.rstrip("/")
