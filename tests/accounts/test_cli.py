"""``flask crm create-tenant`` and ``create-user``."""

from __future__ import annotations

from sqlalchemy import select

from crm.accounts.passwords import verify_password
from crm.models import Tenant
from tests.accounts.support import user_by_email

PASSWORD = "a fine cli password"


def run(app, *args, input=None):
    return app.test_cli_runner().invoke(args=["crm", *args], input=input)


def test_create_tenant_then_users(app, session, make):
    result = run(app, "create-tenant", "--slug", "de-cl", "--name", "German", "--country", "de")
    assert result.exit_code == 0, result.output
    tenant = session.scalar(select(Tenant).where(Tenant.slug == "de-cl"))
    assert tenant.country == "DE"
    cluster_id = make.cluster(tenant).id  # the command's commit expires the object
    args = ["create-user", "--email", "m@example.de", "--role", "cluster_manager"]
    result = run(app, *args, "--tenant", "de-cl", "--cluster", str(cluster_id), input=PASSWORD)
    assert result.exit_code == 0, result.output
    user = user_by_email(session, "m@example.de")
    assert (user.tenant_id, user.cluster_id, user.name) == (tenant.id, cluster_id, "m")
    assert verify_password(user.password_hash, PASSWORD)
    assert PASSWORD not in result.output
    args = ["create-user", "--email", "boss@alliance.eu", "--role", "alliance_admin"]
    assert run(app, *args, "--name", "Boss", input=PASSWORD + "\n").exit_code == 0


def test_create_user_validates_role_tenant_and_cluster(app, session, make):
    a, b = make.tenant(slug="cli-a"), make.tenant(slug="cli-b")
    foreign_cluster = make.cluster(b)
    cases = [
        (["--role", "secretariat"], "needs an association"),
        (["--role", "alliance_analyst", "--tenant", "cli-a"], "do not belong"),
        (["--role", "cluster_manager", "--tenant", "cli-a"], "needs a cluster"),
        (
            [
                "--role",
                "cluster_manager",
                "--tenant",
                "cli-a",
                "--cluster",
                str(foreign_cluster.id),
            ],
            "cluster of this association",
        ),
        (["--role", "secretariat", "--tenant", "nope"], "no tenant"),
    ]
    for args, message in cases:
        result = run(app, "create-user", "--email", "v@example.org", *args, input=PASSWORD)
        assert result.exit_code != 0 and message in result.output, (args, result.output)
    short = run(
        app,
        "create-user",
        "--email",
        "s@example.org",
        "--role",
        "tenant_admin",
        "--tenant",
        "cli-a",
        input="short",
    )
    assert short.exit_code != 0 and "at least 12" in short.output
    assert user_by_email(session, "v@example.org") is None
    assert user_by_email(session, "s@example.org") is None
    assert a.id


def test_create_tenant_refuses_duplicates(app, make):
    make.tenant(slug="dup")
    result = run(app, "create-tenant", "--slug", "dup", "--name", "X", "--country", "FR")
    assert result.exit_code != 0 and "taken" in result.output
