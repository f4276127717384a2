"""docs/exports.md documents every column key of the lists whose header row is a key."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm.contacts.queries import EXPORT as CONTACTS
from crm.exports import headers
from crm.members.queries import EXPORT as MEMBERS
from crm.renewals.queries import EXPORT as RENEWALS
from crm.renewals.queries import PAYMENT_EXPORT as PAYMENTS

DOC = (Path(__file__).resolve().parents[2] / "docs" / "exports.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("export", [MEMBERS, CONTACTS, RENEWALS, PAYMENTS])
def test_every_column_key_is_documented(app, export):
    with app.test_request_context():
        missing = [key for key in headers(export) if f"`{key}`" not in DOC]
    assert not missing, f"docs/exports.md lacks {missing}"
