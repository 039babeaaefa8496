"""The bare baseline of ``custody_throughput.py``: Flask + SQLAlchemy Core, one endpoint that
reads the previous hash and inserts one hash-chained row (no authentication, no ORM, no audit,
no lock). Served by gunicorn with the same settings as the project.

    BARE_DATABASE_URL=postgresql+psycopg://... gunicorn -w 4 benchmarks.bare_chain_app:app
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime

from flask import Flask, jsonify, request
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    insert,
    select,
)

metadata = MetaData()
chain = Table("bare_chain", metadata,
              Column("id", Integer, primary_key=True),
              Column("body", Text, nullable=False),
              Column("created_at", DateTime, nullable=False),
              Column("prev_hash", String(64), nullable=False),
              Column("hash", String(64), nullable=False))

engine = create_engine(os.environ["BARE_DATABASE_URL"], pool_pre_ping=True)
app = Flask(__name__)


def create_schema() -> None:
    metadata.create_all(engine)


@app.post("/chain")
def append():
    body = json.dumps(request.get_json(), sort_keys=True, separators=(",", ":"))
    with engine.begin() as conn:
        prev = conn.scalar(select(chain.c.hash).order_by(chain.c.id.desc()).limit(1)) or "0" * 64
        digest = hashlib.sha256(f"{prev}\n{body}".encode()).hexdigest()
        row_id = conn.scalar(insert(chain).values(body=body, created_at=datetime.now(UTC)
                                                  .replace(tzinfo=None), prev_hash=prev,
                                                  hash=digest).returning(chain.c.id))
    return jsonify({"id": row_id, "hash": digest}), 201
