"""HTTP face of the witness: the C2SP tlog-witness routes as a blueprint, and a small app
factory that runs it as its own process on its own database.

The blueprint holds routing only; ``Witness`` (service.py) holds the rules, so the regional hub
can mount ``make_blueprint(witness)`` in the main application later.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from flask import Blueprint, Flask, Response, request

from ballistics.ledger import notes
from ballistics.ledger.tlog_witness import PATH, SIZE_CONTENT_TYPE, format_size
from ballistics.witness import store
from ballistics.witness.service import Witness, WitnessError

TEXT = "text/plain; charset=utf-8"
#: Large enough for 63 proof lines and a note with many (even post-quantum) signatures.
MAX_BODY = 1 << 20
_ORIGIN_HASH = re.compile(r"[0-9a-f]{64}")


def make_blueprint(witness: Witness, name: str = "tlog_witness") -> Blueprint:
    bp = Blueprint(name, __name__)

    @bp.post(PATH)
    def add_checkpoint() -> Response:
        try:
            cosignatures = witness.add_checkpoint(request.get_data(cache=False))
        except WitnessError as exc:
            if exc.status == 409:
                return Response(format_size(exc.known_size or 0), 409,
                                content_type=SIZE_CONTENT_TYPE)
            return Response(exc.message + "\n", exc.status, content_type=TEXT)
        return Response("".join(s.line() for s in cosignatures), 200, content_type=TEXT)

    @bp.get("/<hashed_origin>/checkpoint")
    def latest_checkpoint(hashed_origin: str) -> Response:
        note = (witness.latest_checkpoint(hashed_origin)
                if _ORIGIN_HASH.fullmatch(hashed_origin) else None)
        if note is None:
            return Response("no cosigned checkpoint for this log\n", 404, content_type=TEXT)
        return Response(note, 200, content_type=TEXT)

    @bp.get("/")
    def identity() -> Response:
        """The witness's name and cosignature verifier key, for operators setting up a log."""
        return Response(witness.vkey() + "\n", 200, content_type=TEXT)

    return bp


def settings(config: Mapping | None = None, environ: Mapping[str, str] = os.environ) -> dict:
    """WITNESS_DATABASE_URL, WITNESS_KEY_FILE and WITNESS_NAME, from ``config`` or the
    environment; the defaults live under ``$WITNESS_HOME`` (``./instance/witness``)."""
    config = dict(config or {})
    home = Path(config.get("WITNESS_HOME") or environ.get("WITNESS_HOME")
                or "instance/witness").resolve()
    return {
        "WITNESS_DATABASE_URL": config.get("WITNESS_DATABASE_URL")
        or environ.get("WITNESS_DATABASE_URL") or f"sqlite:///{home / 'witness.sqlite'}",
        "WITNESS_KEY_FILE": config.get("WITNESS_KEY_FILE") or environ.get("WITNESS_KEY_FILE")
        or str(home / "witness.key"),
        "WITNESS_NAME": config.get("WITNESS_NAME") or environ.get("WITNESS_NAME"),
    }


def build_witness(config: Mapping | None = None) -> Witness:
    cfg = settings(config)
    key_file = Path(cfg["WITNESS_KEY_FILE"])
    if not key_file.exists() and cfg["WITNESS_NAME"]:
        signer = store.create_key(key_file, cfg["WITNESS_NAME"])
    else:
        signer = store.load_key(key_file)
    if cfg["WITNESS_NAME"] and signer.name != cfg["WITNESS_NAME"]:
        raise ValueError(f"{key_file} holds the key of {signer.name!r}, "
                         f"not {cfg['WITNESS_NAME']!r}")
    return Witness(store.open_database(cfg["WITNESS_DATABASE_URL"]),
                   notes.CosignatureSigner(signer))


def create_witness_app(config: Mapping | None = None) -> Flask:
    """A Flask app serving one witness; ``config`` overrides the environment."""
    witness = build_witness(config)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.extensions["witness"] = witness
    app.register_blueprint(make_blueprint(witness))

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    return app
