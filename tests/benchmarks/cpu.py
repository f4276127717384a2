"""CPU per request under gunicorn: the app's worker and its PostgreSQL backends,
read from /proc, beside the smallest Flask app measured the same way in the same run.

Not a test: a script that prints figures. It serves ``wsgi:app`` and
``tests.benchmarks.hello:app`` with gunicorn (one worker, one thread each, so
every request's CPU lands in one process), signs in as a demo user, requests
each page ``-n`` times, and reads the CPU time the worker and the database
backends serving its connections spent (utime + stime of ``/proc/<pid>/stat``;
PostgreSQL's backends are the ones ``pg_stat_activity`` lists for the app role).

    DATABASE_URL=postgresql://crm_app@127.0.0.1/crm_bench_partners \\
    MIGRATION_DATABASE_URL=postgresql://postgres@127.0.0.1/crm_bench_partners \\
    .venv/bin/python -m tests.benchmarks.cpu [-n 50]

The database is a ``seed-demo --scale 1`` database migrated to head (the demo's
logins: ``secretariat@fenaeic.example.org``, ``analyst@alliance.example.org``).
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from urllib.parse import urlencode

from sqlalchemy import create_engine, text

from crm.demo.generate import DEMO_PASSWORD

TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")
SECRETARIAT = "secretariat@fenaeic.example.org"
ANALYST = "analyst@alliance.example.org"


def cpu_ms(pids) -> float:
    """User + system CPU time of the processes, in milliseconds."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total * TICK_MS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A gunicorn serving ``target`` with one sync worker; its worker's pid."""

    def __init__(self, target: str, env: dict):
        self.port = free_port()
        gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable))
        self.process = subprocess.Popen(
            [gunicorn, "-c", "gunicorn.conf.py", "-w", "1", "--threads", "1",
             "-b", f"127.0.0.1:{self.port}", "--access-logfile", "/dev/null", target],
            env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        # The master listens before it forks its worker: wait for the worker too.
        for _ in range(100):
            children = open(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read()
            if children.split():
                break
            time.sleep(0.1)
        self.worker = int(children.split()[0])

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


class Browser:
    """Keep-alive HTTP with a cookie, as a browser would."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection("127.0.0.1", port)
        self.cookie = ""

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, str]:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.connection.request(method, path, body=data, headers=headers)
        response = self.connection.getresponse()
        page = response.read().decode()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie" and value.startswith("session="):
                self.cookie = value.split(";", 1)[0]
        return response.status, page

    def sign_in(self, email: str) -> None:
        self.cookie = ""
        _, page = self.request("GET", "/login")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        status, _ = self.request(
            "POST", "/login",
            {"email": email, "password": DEMO_PASSWORD, "csrf_token": token.group(1)},
        )  # fmt: skip
        assert status == 302, f"sign-in as {email} answered {status}"


def backends(owner_url: str, database: str) -> list[int]:
    engine = create_engine(owner_url)
    with engine.connect() as c:
        pids = (
            c.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = :d AND usename = 'crm_app'"),
                {"d": database},
            )
            .scalars()
            .all()
        )
    engine.dispose()
    return pids


def measure(browser, pids_of, path_or_action, repeat: int) -> float:
    """CPU ms per request of ``path_or_action`` (a path, or a callable)."""
    if callable(path_or_action):
        act = path_or_action
    else:
        status, _ = browser.request("GET", path_or_action)
        assert status == 200, f"{path_or_action} answered {status}"

        def act():
            browser.request("GET", path_or_action)

    for _ in range(3):
        act()  # warm-up: templates compiled, pool connected
    pids = pids_of()
    before = cpu_ms(pids)
    for _ in range(repeat):
        act()
    return (cpu_ms(pids) - before) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--repeat", type=int, default=50)
    args = parser.parse_args()
    from crm import create_app

    config = create_app().config
    app_url, owner_url = config["SQLALCHEMY_DATABASE_URI"], config["MIGRATION_DATABASE_URL"]
    database = app_url.rsplit("/", 1)[1]
    env = {"CRM_ENV": "development", "REDIS_URL": "", "WEB_CONCURRENCY": "1"}
    hello = Server("tests.benchmarks.hello:app", env)
    try:
        crm = Server("wsgi:app", env)
    except Exception:
        hello.stop()  # not left serving when the app's server fails to start
        raise
    try:
        floor_browser = Browser(hello.port)
        # A hello request costs well under a clock tick (10 ms): many more of them.
        floor = measure(floor_browser, lambda: [hello.worker], "/", args.repeat * 40)
        browser = Browser(crm.port)
        browser.sign_in(SECRETARIAT)
        _, dashboard = browser.request("GET", "/fenaeic/dashboard")
        org = re.search(r'href="/fenaeic/members/(\d+)"', browser.request(
            "GET", "/fenaeic/members")[1]).group(1)  # fmt: skip

        def pids():
            return [crm.worker, *backends(owner_url, database)]

        rows = [
            ("sign-in (argon2 check)", measure(browser, pids, lambda: browser.sign_in(SECRETARIAT),
                                               max(5, args.repeat // 5))),
            ("directory", measure(browser, pids, "/fenaeic/members", args.repeat)),
            ("directory search", measure(browser, pids, "/fenaeic/members?q=cluster", args.repeat)),
            ("directory search, no accents", measure(browser, pids, "/fenaeic/members?q=perez",
                                                     args.repeat)),
            ("search suggestions (JSON)", measure(
                browser, pids, "/fenaeic/members/suggestions?q=pere", args.repeat)),
            ("organisation page", measure(browser, pids, f"/fenaeic/members/{org}", args.repeat)),
            ("project list", measure(browser, pids, "/fenaeic/projects", args.repeat)),
        ]  # fmt: skip
        browser.sign_in(ANALYST)
        rows.append(("alliance dashboard", measure(browser, pids, "/alliance/", args.repeat)))
    finally:
        hello.stop()
        crm.stop()
    print(f"CPU ms per request (app worker + its PostgreSQL backends), {args.repeat} requests "
          f"each, load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"{'page':32} {'CPU ms':>8} {'x hello':>8}")
    print(f"{'hello world (Flask floor)':32} {floor:8.2f} {1:8.1f}")
    for label, ms in rows:
        print(f"{label:32} {ms:8.2f} {ms / floor if floor else 0:8.1f}")


if __name__ == "__main__":
    main()
