"""Celery workers. Start one with ``celery -A workers.worker worker`` (and celery beat, for the
periodic quality tasks, with ``celery -A workers.worker beat``). The Celery app is an extension
of the Flask app (:mod:`ballistics.core.celery`); task modules belong to their domains."""
