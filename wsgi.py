"""WSGI entry point: ``gunicorn wsgi:app`` (production) or ``flask --app wsgi run``."""

from ballistics.app import create_app

app = create_app()
