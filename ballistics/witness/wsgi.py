"""``gunicorn ballistics.witness.wsgi:app`` (settings from WITNESS_* environment variables)."""

from ballistics.witness.app import create_witness_app

app = create_witness_app()
