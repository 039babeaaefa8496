"""Scans, feature sets, searches, candidates and their review, over ballistics.imaging."""
