"""The compliance engine: a registry of small rules judged per examination as of its own date.

``registry`` declares rules, ``rules`` holds them, ``facts`` bulk-loads what they read and
``engine`` evaluates, stores findings and enforces the blocking rules.
"""
