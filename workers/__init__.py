"""Celery workers. Start one with ``celery -A workers.worker worker`` (and, once per deployment,
celery beat with ``celery -A workers.worker beat``: it runs every domain's ``BEAT_SCHEDULE``, the
sweep of stuck scans and searches among them). The Celery app is an extension of the Flask app
(:mod:`ballistics.core.celery`); task modules belong to their domains."""
