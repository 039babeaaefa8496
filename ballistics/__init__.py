"""ballistics: forensic ballistics evidence and laboratory quality management.

The Flask application lives in :mod:`ballistics.app`; importing this package does not import
Flask, so the pure science in :mod:`ballistics.imaging` stays usable on its own.
"""


def create_app(*args, **kwargs):
    """Build the Flask application (see :func:`ballistics.app.create_app`)."""
    from ballistics.app import create_app as _create_app

    return _create_app(*args, **kwargs)
