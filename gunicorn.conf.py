"""gunicorn settings of the CRM (``make serve``; docs/operations.md).

Threaded workers: a request mostly waits on PostgreSQL, so a few threads per
process serve more users with the memory of one app per process. Only the bind
address and the process and thread counts come from the environment (the
app's own settings are read by ``config/``).
"""

import os

# os.sched_getaffinity: the CPUs this process may use (a container or a systemd
# CPUAffinity limit), not every CPU of the machine.
_cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY") or max(2, 2 * (_cpus or 1)))
threads = int(os.environ.get("GUNICORN_THREADS") or 4)

# A worker that stops answering its arbiter for this long is killed and replaced.
timeout = 30
# On SIGTERM or a reload (SIGHUP), requests in flight get this long to finish.
graceful_timeout = 30
keepalive = 5
# Workers are replaced after this many requests (spread out, not all at once),
# so a slow leak never grows for long.
max_requests = 2000
max_requests_jitter = 200
# Each worker builds its own app (no preload): a SIGHUP then loads new code, and
# no database connection is ever shared across a fork.
preload_app = False
# The heartbeat file on tmpfs: a slow disk never makes a busy worker look dead.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# To stdout/stderr: journald (or the container runtime) keeps them.
accesslog = "-"
errorlog = "-"
loglevel = "info"
# The app's request id (X-Request-Id, crm/logs.py) on every access line, with the
# time taken in milliseconds. The tenant is the first segment of the path.
access_log_format = '%(h)s %({x-request-id}o)s "%(r)s" %(s)s %(b)s %(M)sms "%(f)s" "%(a)s"'
# The limits a reverse proxy would enforce, for requests that reach us directly.
limit_request_line = 8190
limit_request_fields = 100
proc_name = "crm-web"
