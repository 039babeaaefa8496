"""Quality pages (server-rendered)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("sop", __name__, url_prefix="/quality", template_folder="templates")
