"""The real worker, with each stage-1 shard (a lab's or the hub's) held for ``SHARD_PAUSE``
seconds first, so a test can kill it while it holds a shard (``celery -A
tests.comparisons.slow_shard_worker``)."""

import os
import time

from ballistics.comparisons import searches
from ballistics.network import hub_index
from workers.worker import celery  # noqa: F401 - the app Celery loads


def _slow(shortlist):
    def slow_shortlist(*args, **kwargs):
        time.sleep(float(os.environ.get("SHARD_PAUSE", "60")))
        return shortlist(*args, **kwargs)

    return slow_shortlist


searches.shard_shortlist = _slow(searches.shard_shortlist)
hub_index.shard_shortlist = _slow(hub_index.shard_shortlist)
