"""The real worker, with each stage-1 shard held for ``SHARD_PAUSE`` seconds first, so a test
can kill it while it holds a shard (``celery -A tests.comparisons.slow_shard_worker``)."""

import os
import time

from ballistics.comparisons import searches
from workers.worker import celery  # noqa: F401 - the app Celery loads

_shortlist = searches.shard_shortlist


def _slow_shortlist(*args, **kwargs):
    time.sleep(float(os.environ.get("SHARD_PAUSE", "60")))
    return _shortlist(*args, **kwargs)


searches.shard_shortlist = _slow_shortlist
