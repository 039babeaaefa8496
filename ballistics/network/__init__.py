"""The regional ballistic information network: lab nodes share features of scans through a
regional hub, search what partners share, and exchange leads, each look signed, audited on both
sides and kept. One codebase: ``APP_ROLE=lab`` (a national lab's node) or ``hub``."""

from flask import Flask


def init_app(app: Flask) -> None:
    from ballistics.comparisons.scans import features_ready
    from ballistics.core.domains import install
    from ballistics.extensions import csrf
    from ballistics.network import hub_api
    from ballistics.network.tasks import share_when_ready

    install(app, __name__)
    features_ready.connect(share_when_ready)
    csrf.exempt(hub_api.bp)  # requests are signed by member labs, never cookie-borne
    app.register_blueprint(hub_api.bp)
    if app.config["APP_ROLE"] == "hub":
        from ballistics.network.hub_witness import mount
        from ballistics.network.tasks import HUB_BEAT_SCHEDULE

        celery = app.extensions["celery"]
        celery.conf.beat_schedule = {**celery.conf.beat_schedule, **HUB_BEAT_SCHEDULE}

        mount(app)
