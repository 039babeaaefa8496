"""Worker entry module: ``celery -A workers.worker worker`` builds the Flask app once."""

from workers.celery_app import create_celery

app = create_celery()
