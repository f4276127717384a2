"""Exports too large for a request (an XLSX of thousands of rows): built by a
background job with progress, then offered through a download link that expires."""

from flask import Blueprint

bp = Blueprint("downloads", __name__)

from crm.downloads import views  # noqa: E402, F401
