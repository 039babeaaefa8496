"""A transparency-log witness (C2SP tlog-witness): cosigns a log's checkpoints only when each
extends the last one it cosigned, and keeps every one. Runs as its own process on its own
database (``python -m ballistics.witness serve``); the core (``service.Witness``) has no HTTP
in it so the regional hub can mount the same logic later.
"""
