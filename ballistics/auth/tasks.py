"""Celery tasks of the accounts domain: forgetting Idempotency-Keys past their time."""

from __future__ import annotations

from celery.schedules import crontab

from ballistics.auth import idempotency
from ballistics.core.celery import task
from ballistics.extensions import db

#: celery beat: delete the API's expired Idempotency-Keys once an hour (a lookup already
#: ignores them; this bounds the table)
BEAT_SCHEDULE = {
    "auth-idempotency-sweep": {"task": "auth.idempotency_sweep",
                               "schedule": crontab(minute="17")},
}


@task("auth.idempotency_sweep", acks_late=False)
def idempotency_sweep() -> dict:
    """Delete the Idempotency-Keys (and their stored answers) kept past their time."""
    deleted = idempotency.sweep()
    db.session.commit()
    return {"idempotency_keys_deleted": deleted}
