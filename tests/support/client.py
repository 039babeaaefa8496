"""A test client whose requests are isolated as a server's are."""

from __future__ import annotations

from flask import has_app_context
from flask.testing import FlaskClient

from ballistics.extensions import db


class RequestClient(FlaskClient):
    """Runs every request in its own app context, so ``g`` (Flask-Login's cached user,
    Flask-WTF's CSRF token) and the database session belong to that request alone.

    A test that holds an app context of its own (to set up records through the services) has
    its transaction committed first, so the request sees what the test wrote, and its objects
    expired, so the test sees what the request wrote.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            db.session.commit()
        with self.application.app_context():
            return super().open(*args, **kwargs)
