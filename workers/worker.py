"""Worker entry module: ``celery -A workers.worker worker`` builds the Flask app once."""

from ballistics.app import create_app

celery = create_app().extensions["celery"]
