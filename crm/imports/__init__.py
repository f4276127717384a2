"""Importing organisations, contacts, projects and participations from CSV and XLSX."""

from flask import Blueprint

bp = Blueprint("imports", __name__)

from crm.imports import views  # noqa: E402, F401
