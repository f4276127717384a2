"""Partner requests across the alliance: an association calls for partners, other
associations express interest for their published organisations, the requester
accepts or declines, and only then do both sides see the contact persons they chose
to share (issue 11, item 3). See docs/partners.md."""

from flask import Blueprint

bp = Blueprint("partner_requests", __name__)

from crm.partner_requests import views  # noqa: E402, F401
