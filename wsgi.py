"""The WSGI entry point: ``app`` for gunicorn, ``flask --app wsgi``."""

from crm import create_app

app = create_app()
