"""Ledger pages: the lab's public key document, for a court or a witness operator to pin."""

from __future__ import annotations

import json

from flask import Blueprint, Response
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from ballistics.auth.models import Lab
from ballistics.extensions import db
from ballistics.ledger import labkeys
from ballistics.ledger.models import LedgerLog
from ballistics.ledger.sealer import ensure_log

bp = Blueprint("ledger", __name__)


@bp.route("/ledger/public-keys.json")
@login_required
def public_keys() -> ResponseReturnValue:
    """The caller's lab's key document (public halves only, with their validity periods)."""
    lab = db.session.get(Lab, current_user.lab_id)
    ensure_log(lab.id)
    origin = db.session.get(LedgerLog, lab.id).origin
    doc = labkeys.keyring(lab.code, origin).public_document()
    filename = f"{lab.code}-ledger-keys.json"
    return Response(json.dumps(doc, indent=1, sort_keys=True) + "\n",
                    mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
