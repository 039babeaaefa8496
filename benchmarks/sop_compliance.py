"""Benchmark: compliance of a lab with 50 examiners and 20,000 examinations on PostgreSQL.

Times the full evaluation (judging every examination and storing findings), the dashboard page
and the audit export (print HTML and CSV), and counts the SQL statements each issues (a
``before_cursor_execute`` listener), so an N+1 shows up as a count that grows with the data.

    PYTHONPATH=$PWD python benchmarks/sop_compliance.py [--examiners 50] [--examinations 20000]
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event, text

from ballistics.core.context import acting_as
from ballistics.extensions import db
from sop.services.compliance.engine import refresh_findings
from tests.sop.bulk import seed
from tests.support.labs import PASSWORD, make_lab
from tests.support.services import create_pg_database, drop_pg_database, migrated_app

TARGET_S = 2.0


class Counter:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, *args, **kwargs) -> None:
        self.n += 1


@contextmanager
def measured(engine, out: dict):
    counter = Counter()
    event.listen(engine, "before_cursor_execute", counter)
    start = time.perf_counter()
    try:
        yield
    finally:
        out["s"] = time.perf_counter() - start
        event.remove(engine, "before_cursor_execute", counter)
        out["queries"] = counter.n


def login(app, username: str):
    client = app.test_client()
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": username, "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302, response.status_code
    return client


def run(examiners: int, examinations: int, repeats: int) -> None:
    url = create_pg_database("ballistics_bench")
    try:
        app = migrated_app(url, Path(tempfile.mkdtemp(prefix="sop-bench-")))
        with app.app_context():
            kit = make_lab()
            t0 = time.perf_counter()
            seed(kit, examiners=examiners, examinations=examinations)
            # A live database has planner statistics (autovacuum keeps them); tables filled a
            # moment ago by bulk INSERT do not, so gather them as autovacuum would.
            db.session.execute(text("ANALYZE"))
            db.session.commit()
            print(f"seeded {examiners} examiners, {examinations} examinations "
                  f"in {time.perf_counter() - t0:.1f} s")
            engine = db.engine
            evaluations = []
            for _ in range(repeats):
                m: dict = {}
                with measured(engine, m), acting_as(None, kit.lab.id, "bench"):
                    summary = refresh_findings(kit.lab.id)
                    db.session.commit()
                evaluations.append(m)
            manager = kit.users["manager"].username
        client = login(app, manager)
        results = {"evaluate (judge + store findings)": evaluations}
        for name, path in (("dashboard page", "/quality/"),
                           ("audit export, print HTML", "/quality/export"),
                           ("audit export, CSV", "/quality/export?format=csv")):
            runs = []
            for _ in range(repeats):
                m = {}
                with measured(engine, m):
                    response = client.get(path)
                assert response.status_code == 200, (path, response.status_code)
                m["bytes"] = len(response.data)
                runs.append(m)
            results[name] = runs
        print(f"findings stored: {summary.findings} over {summary.examinations} examinations")
        print(f"{'operation':36s} {'median ms':>10s} {'min ms':>8s} {'queries':>8s}  target")
        for name, runs in results.items():
            med = statistics.median(r["s"] for r in runs) * 1000
            low = min(r["s"] for r in runs) * 1000
            queries = {r["queries"] for r in runs}
            ok = "ok" if med < TARGET_S * 1000 else "SLOW"
            extra = f"  ({runs[0]['bytes'] / 1024:.0f} KiB)" if "bytes" in runs[0] else ""
            print(f"{name:36s} {med:10.0f} {low:8.0f} {'/'.join(map(str, sorted(queries))):>8s}"
                  f"  {ok}{extra}")
    finally:
        drop_pg_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examiners", type=int, default=50)
    parser.add_argument("--examinations", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    run(args.examiners, args.examinations, args.repeats)


if __name__ == "__main__":
    main()
