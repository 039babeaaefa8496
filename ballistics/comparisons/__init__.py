"""Scans, feature sets, searches, candidates and their review, over ballistics.imaging."""

from flask import Flask

from ballistics.core.domains import install


def init_app(app: Flask) -> None:
    install(app, __name__)
    from ballistics.comparisons.confirmations import settle
    from ballistics.comparisons.links import active_link_holds
    from ballistics.evidence import holds
    from sop.services.examinations import technical_review_recorded

    # A technical review of a confirming examination settles it (an agreed identification
    # links the cases), and a standing link keeps its items from destruction.
    technical_review_recorded.connect(settle)
    holds.register("comparisons.case_links", active_link_holds)
