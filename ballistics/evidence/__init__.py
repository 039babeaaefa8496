"""Cases, items, seals, storage and the hash-chained chain of custody."""
