"""Scans, feature sets, searches, candidates and their review, over ballistics.imaging."""

from ballistics.core.domains import conventional

init_app = conventional(__name__)
