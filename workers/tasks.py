"""Task modules call domain services; this one holds the health check."""

from __future__ import annotations

import os
import socket

from celery import shared_task
from sqlalchemy import func, select, text

from ballistics.auth.models import Lab
from ballistics.extensions import db


@shared_task(name="workers.health")
def health() -> dict:
    """Prove the worker is alive and reaches the database."""
    db.session.execute(text("SELECT 1"))
    return {"ok": True, "labs": db.session.scalar(select(func.count(Lab.id))),
            "host": socket.gethostname(), "pid": os.getpid(),
            "database": db.engine.url.get_backend_name()}
