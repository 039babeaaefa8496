"""Cases, items, seals, storage and the hash-chained chain of custody."""

from ballistics.core.domains import conventional

init_app = conventional(__name__)
