"""Celery tasks of the ledger: sealing and checkpoints on demand, and a beat safety net.

The worker's sealing thread (``ballistics.ledger.worker``) does this every half second; these
tasks are for asking explicitly (``ledger.checkpoint`` after a batch import, say) and for
deployments that turn the thread off (``LEDGER_SEAL_SECONDS=0``) and rely on beat.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy.exc import OperationalError

from ballistics.core.celery import task
from ballistics.ledger import checkpointing
from ballistics.ledger.sealer import seal_all
from ballistics.ledger.worker import SealerLoop

#: celery beat: seal and checkpoint every lab once a minute, whatever the threads do
BEAT_SCHEDULE = {"ledger-tick": {"task": "ledger.tick", "schedule": 60.0}}
TRANSIENT = (OperationalError, OSError)


@task("ledger.seal", retry_on=TRANSIENT)
def seal(lab_id: int) -> int:
    """Seal everything of the lab that waits; the number of leaves sealed."""
    return seal_all(lab_id).sealed


@task("ledger.checkpoint", retry_on=TRANSIENT)
def checkpoint(lab_id: int) -> int:
    """Seal, sign a checkpoint now and send it to the witnesses; its size."""
    seal_all(lab_id)
    info = checkpointing.make_checkpoint(lab_id)
    checkpointing.witness(lab_id, info, force=True)
    return info.size


@task("ledger.tick", retry_on=TRANSIENT)
def tick() -> int:
    return SealerLoop(current_app._get_current_object()).round()
