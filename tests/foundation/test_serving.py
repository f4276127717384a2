"""The production server: gunicorn with gunicorn.conf.py serves the app, logs each
request with its id, reloads without dropping requests and stops gracefully."""

from __future__ import annotations

import logging
import os
import runpy
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from flask import g
from flask.logging import default_handler

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, headers: dict | None = None):
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, dict(response.headers)


def _wait_until_up(url: str, process, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "gunicorn exited"
        try:
            _get(url)
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise AssertionError("gunicorn never answered")


def test_workers_and_threads_follow_the_cpus_unless_the_environment_says(monkeypatch):
    for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_BIND"):
        monkeypatch.delenv(name, raising=False)
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    cpus = len(os.sched_getaffinity(0))
    assert settings["workers"] == max(2, 2 * cpus)
    assert settings["worker_class"] == "gthread" and settings["threads"] == 4
    assert settings["bind"] == "127.0.0.1:8000"
    assert settings["timeout"] > 0 and settings["graceful_timeout"] > 0
    assert "x-request-id" in settings["access_log_format"]
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("GUNICORN_THREADS", "8")
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert (settings["workers"], settings["threads"]) == (3, 8)


def test_gunicorn_serves_logs_request_ids_and_reloads_gracefully(database_urls, tmp_path):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "CRM_ENV": "development",
        "SECRET_KEY": "serving-test-secret-key-0123456789",
        "DATABASE_URL": database_urls["app"],
        "MIGRATION_DATABASE_URL": database_urls["owner"],
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "2",
    }
    log = (tmp_path / "gunicorn.log").open("w+")
    process = subprocess.Popen(
        [str(GUNICORN), "--config", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_until_up(f"{base}/login", process)
        # A client's own id is not believed (no trusted proxy): the app makes one.
        status, headers = _get(f"{base}/login", {"X-Request-Id": "client-chosen-id"})
        request_id = headers["X-Request-Id"]
        assert status == 200 and request_id != "client-chosen-id" and len(request_id) == 32

        # A reload (SIGHUP) while requests keep coming: none of them fails.
        failures, answered, stop = [], [], threading.Event()

        def keep_asking():
            while not stop.is_set():
                try:
                    answered.append(_get(f"{base}/login")[0])
                except Exception as error:  # any failed request counts
                    failures.append(repr(error))

        asker = threading.Thread(target=keep_asking)
        asker.start()
        time.sleep(0.5)
        process.send_signal(signal.SIGHUP)
        time.sleep(4)
        stop.set()
        asker.join(timeout=15)
        assert failures == [] and answered and set(answered) == {200}

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=40) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    log.seek(0)
    text = log.read()
    log.close()
    access = [line for line in text.splitlines() if request_id in line]
    assert access and '"GET /login HTTP/1.1" 200' in access[0]
    assert "Hang up: Master" in text  # the reload happened
    assert "Shutting down: Master" in text


def test_app_log_lines_carry_the_request_id_and_tenant(app, make):
    tenant = make.tenant(slug="logged-fr")
    with app.test_request_context(f"/{tenant.slug}/members"):
        g.tenant = tenant
        g.request_id = "0123456789abcdef"
        record = logging.LogRecord("crm.test", logging.WARNING, __file__, 1, "hello", (), None)
        for check in default_handler.filters:
            check.filter(record)
        line = default_handler.format(record)
    assert "[0123456789abcdef logged-fr] crm.test: hello" in line


def test_a_trusted_proxys_request_id_is_kept(make_app):
    app = make_app(TRUSTED_PROXIES=1)
    client = app.test_client()
    response = client.get("/login", headers={"X-Request-Id": "proxy-id-12345678"})
    assert response.headers["X-Request-Id"] == "proxy-id-12345678"
    # One that could break a log line is replaced.
    response = client.get("/login", headers={"X-Request-Id": "bad id\twith tab"})
    assert response.headers["X-Request-Id"] != "bad id\twith tab"
