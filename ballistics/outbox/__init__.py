"""The transactional outbox: work that must leave the transaction (a Celery task today; a
delivery to the regional hub or a ledger seal later) is written as a row in the same
transaction as the change that needs it, and relayed after commit, so a broker outage delays
work and never loses it."""

from flask import Flask


def init_app(app: Flask) -> None:
    from ballistics.core.domains import install
    from ballistics.outbox.relay import add_worker_relay

    install(app, __name__)
    import ballistics.outbox.services  # noqa: F401 - its after-commit listener sends at once
    add_worker_relay(app.extensions["celery"])
