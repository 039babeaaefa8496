"""Custody write throughput against a bare baseline, in one run, on PostgreSQL (issue 10).

Three servers, each gunicorn with the same settings (``--workers 4``), all started at once;
the same wrk load (``-t2 -c50``, ``--seconds`` each, after a short warm-up) goes to one after the
other, ``--rounds`` times over (the machine's load drifts: each round's ratio compares phases a
minute apart; medians over the rounds are printed, each round's ratio in brackets):

- **bare**: ``benchmarks/bare_chain_app.py``, Flask + SQLAlchemy Core: read the previous hash,
  insert one hash-chained row (no authentication, no ORM, no audit, no lock);
- **receive**: the project's ``POST /api/v1/cases/<id>/items`` (bearer token, validation, item
  number, custody event, audit entries), requests spread over ``--cases`` cases;
- **receive+outbox**: the same with ``LEDGER_OUTBOX_NUDGE=1`` (an outbox row and a broker send
  per write), to measure what sealing through the outbox would cost;
- **receive@REF** (``--compare-ref main``): the same endpoint as the git ref REF has it (its own
  checkout and database), e.g. before the ledger removed the audit chain head lock;
- **GET /me** (``--floor``): ``GET /api/v1/me`` on the receive's server: the token's check and
  Flask's request and response, nothing written: a floor for any authenticated API request.

A Celery worker (Redis broker) runs the ledger's sealing thread during the project's runs, and
a witness process cosigns checkpoints every few seconds, as in production. The git ref's server
gets a sealing worker of its own (its own code and database; no witness), so both pay for
sealing on the same cores. Printed: req/s, the ratio to bare, p50/p99 latency (wrk's), the
server's CPU per request (and of it the kernel's, system time), the database's (the PostgreSQL
backends connected to the phase's database: the servers' and, for the project, the sealer's),
non-2xx answers, and for the project the time from commit to sealed (p50/p99 over the custody
events of the run: ``sealed_at - occurred_at``, the event's time being taken just before its
transaction commits), then a check that positions are gap-free and the log verifies against
its witnessed checkpoint.

    PYTHONPATH=. .venv/bin/python benchmarks/custody_throughput.py --seconds 20 --rounds 3 \
        --no-outbox-variant --compare-ref main

wrk comes from Debian (``apt-get install wrk``; the script installs it if missing and can).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ME_LUA = """
wrk.method = "GET"
{auth}
request = function()
  return wrk.format(nil, "/api/v1/me")
end
"""

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("ARGON2_TIME_COST", "1")
os.environ.setdefault("ARGON2_MEMORY_KIB", "8192")

from tests.support.labs import make_lab  # noqa: E402
from tests.support.services import (  # noqa: E402
    create_pg_database,
    drop_pg_database,
    free_port,
    migrated_app,
)

LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
{auth}
local paths = {{{paths}}}
local body = '{{"kind":"cartridge_case","from_agency":"Bench","description":"wrk"}}'
request = function()
  return wrk.format(nil, paths[math.random(#paths)], nil, body)
end
"""


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing: installing Debian's wrk with apt-get", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False,
                   stdout=subprocess.DEVNULL)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not available (apt-get install wrk failed); this benchmark "
                         "needs it so that both servers see exactly the same load")
    return found


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer")


@contextlib.contextmanager
def process(args: list[str], env: dict, log: Path, cwd: Path = REPO):
    with open(log, "ab") as out:
        proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def gunicorn(module: str, port: int, workers: int, threads: int) -> list[str]:
    cmd = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind",
           f"127.0.0.1:{port}", "--log-level", "warning"]
    if threads > 1:
        cmd += ["--threads", str(threads)]
    return [*cmd, module]


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * _UNITS[unit]


def run_wrk(wrk: str, url: str, script: Path, seconds: float, threads: int, connections: int,
            ) -> dict:
    out = subprocess.run([wrk, f"-t{threads}", f"-c{connections}", f"-d{int(seconds)}s",
                          "--latency", "--timeout", "30s", "-s", str(script), url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    return {"rps": rps, "p50": _ms(lat["50"]), "p99": _ms(lat["99"]), "requests": total,
            "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "errors": errors.group(1) if errors else "none"}


#: fields of /proc/<pid>/stat after the name: user and system CPU time, in clock ticks
USER, SYSTEM = 11, 12


def cpu_seconds(root: int, fields: tuple[int, ...] = (USER, SYSTEM)) -> float:
    """CPU time (user + system unless ``fields`` says) of process ``root`` and its children
    (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            values = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(stat.parent.name), int(values[1])
        if pid == root or ppid == root:
            total += sum(int(values[f]) for f in fields) / tick
    return total


def database_cpu_seconds(url: str) -> float:
    """User + system CPU time of the PostgreSQL backends connected to ``url``'s database now
    (the servers' pooled connections and, for the project, the sealer's): what the database
    spends on a phase, which the server's CPU does not show."""
    import psycopg
    from sqlalchemy.engine import make_url

    target = make_url(url)
    with psycopg.connect(host=target.host, port=target.port or 5432,
                         user=target.username, dbname="postgres", autocommit=True) as conn:
        pids = [row[0] for row in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (target.database,))]
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


SEED = """
import json, os, sys
os.environ.setdefault("ARGON2_TIME_COST", "1"); os.environ.setdefault("ARGON2_MEMORY_KIB", "8192")
from pathlib import Path
from tests.support.labs import make_lab
from tests.support.services import migrated_app
from ballistics.core.context import acting_as
from ballistics.evidence.services import create_case
from ballistics.extensions import db
app = migrated_app(os.environ["DATABASE_URL"], Path(os.environ["INSTANCE_PATH"]))
with app.app_context():
    kit = make_lab()
    tech = kit.users["tech"]
    with acting_as(tech.id, kit.lab.id, "bench"):
        cases = [create_case(tech, submitting_agency="Bench").id for _ in range(int(sys.argv[1]))]
    db.session.commit()
    print(json.dumps({"token": kit.tokens["tech"], "cases": cases, "lab": kit.lab.id,
                      "secret": app.config["SECRET_KEY"]}))
"""


def reference_checkout(ref: str, instance: Path, url: str, n_cases: int) -> tuple[Path, dict]:
    """The tree of git ``ref`` in a folder of its own, its database migrated and seeded by its
    own code; returns the folder and {token, cases, secret}."""
    import json

    root = instance / "ref"
    root.mkdir()
    archive = subprocess.run(["git", "archive", ref], cwd=REPO, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
    (root / "instance").mkdir()
    env = {**os.environ, "PYTHONPATH": str(root), "DATABASE_URL": url,
           "INSTANCE_PATH": str(root / "instance")}
    out = subprocess.run([sys.executable, "-c", SEED, str(n_cases)], cwd=root, env=env,
                         check=True, capture_output=True, text=True).stdout
    return root, json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--rounds", type=int, default=1,
                    help="load every server in turn this many times; medians are reported")
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker")
    ap.add_argument("--cases", type=int, default=50)
    ap.add_argument("--no-outbox-variant", action="store_true")
    ap.add_argument("--compare-ref", help="also run the receive endpoint of this git ref")
    ap.add_argument("--floor", action="store_true",
                    help="also load GET /api/v1/me on the receive server: an authenticated "
                         "request that writes nothing, a floor for any API endpoint")
    args = ap.parse_args()
    wrk = ensure_wrk()

    url = create_pg_database("ballistics_bench")
    bare_url = create_pg_database("ballistics_bare")
    instance = Path(tempfile.mkdtemp(prefix="custody-bench-"))
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    witness_port = free_port()
    ref_url = create_pg_database("ballistics_ref") if args.compare_ref else None
    try:
        from ballistics.extensions import db
        from ballistics.ledger import labkeys
        from ballistics.ledger.models import LedgerLog
        from ballistics.ledger.sealer import ensure_log

        # -- the witness, trusting the lab's key ---------------------------------------------
        wenv = {**os.environ, "PYTHONPATH": str(REPO)}
        wkey, wdb = instance / "witness.key", f"sqlite:///{instance / 'witness.sqlite'}"
        vkey = subprocess.run([sys.executable, "-m", "ballistics.witness", "init-key", "--key",
                               str(wkey), "--name", "bench.witness/w1"], env=wenv, check=True,
                              capture_output=True, text=True).stdout.strip()
        settings = {"LEDGER_WITNESSES": f"http://127.0.0.1:{witness_port} {vkey}",
                    "LEDGER_CHECKPOINT_SECONDS": 5, "LEDGER_SEAL_SECONDS": 0.5,
                    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
                    "CELERY_RESULT_BACKEND": "redis://127.0.0.1:6379/1",
                    "CELERY_TASK_DEFAULT_QUEUE": queue, "COMPARISON_AUTO_SEARCH": False,
                    # as production: one counter store for every worker (the receive has no
                    # limit of its own, so it is not contacted on this path)
                    "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/2"}
        app = migrated_app(url, instance, **settings)
        with app.app_context():
            kit = make_lab()
            from ballistics.core.context import acting_as
            from ballistics.evidence.services import create_case

            tech = kit.users["tech"]
            with acting_as(tech.id, kit.lab.id, "bench"):
                cases = [create_case(tech, submitting_agency="Bench").id
                         for _ in range(args.cases)]
            db.session.commit()
            ensure_log(kit.lab.id)
            origin = db.session.get(LedgerLog, kit.lab.id).origin
            lab_vkey = labkeys.keyring(kit.lab.code, origin).signer().verifier().vkey()
            lab_id, token = kit.lab.id, kit.tokens["tech"]
            db.session.remove()
        subprocess.run([sys.executable, "-m", "ballistics.witness", "add-log", "--db", wdb,
                        origin, lab_vkey], env=wenv, check=True, capture_output=True)

        env = {**os.environ, "PYTHONPATH": str(REPO), "DATABASE_URL": url,
               "INSTANCE_PATH": str(instance), "SECRET_KEY": app.config["SECRET_KEY"],
               **{k: str(v) for k, v in settings.items()}, "COMPARISON_AUTO_SEARCH": "0",
               "BARE_DATABASE_URL": bare_url}
        os.environ["BARE_DATABASE_URL"] = bare_url
        from benchmarks.bare_chain_app import create_schema
        create_schema()

        project_lua = instance / "receive.lua"
        project_lua.write_text(LUA.format(
            auth=f'wrk.headers["Authorization"] = "Bearer {token}"',
            paths=", ".join(f'"/api/v1/cases/{c}/items"' for c in cases)))
        bare_lua = instance / "bare.lua"
        bare_lua.write_text(LUA.format(auth="", paths='"/chain"'))

        targets = [("bare", "benchmarks.bare_chain_app:app", bare_lua, {}),
                   ("receive", "wsgi:app", project_lua, {})]
        if not args.no_outbox_variant:
            targets.append(("receive+outbox", "wsgi:app", project_lua,
                            {"LEDGER_OUTBOX_NUDGE": "1"}))
        if args.compare_ref:
            root, seeded = reference_checkout(args.compare_ref, instance, ref_url, args.cases)
            ref_lua = instance / "ref.lua"
            ref_lua.write_text(LUA.format(
                auth=f'wrk.headers["Authorization"] = "Bearer {seeded["token"]}"',
                paths=", ".join(f'"/api/v1/cases/{c}/items"' for c in seeded["cases"])))
            ref_env = {"DATABASE_URL": ref_url, "INSTANCE_PATH": str(root / "instance"),
                       "SECRET_KEY": seeded["secret"], "PYTHONPATH": str(root)}
            targets.append((f"receive@{args.compare_ref}", "wsgi:app", ref_lua,
                            {**ref_env, "_cwd": str(root)}))
        with process([sys.executable, "-m", "ballistics.witness", "serve", "--db", wdb, "--key",
                      str(wkey), "--port", str(witness_port), "--workers", "1"], wenv,
                     instance / "witness.log"), \
             process([sys.executable, "-m", "celery", "-A", "workers.worker", "worker", "-n",
                      f"bench@{queue}", "-Q", queue, "-c", "1", "--without-gossip",
                      "--without-mingle", "--loglevel=WARNING"], env,
                    instance / "worker.log") as worker:
            wait_http(f"http://127.0.0.1:{witness_port}/")
            sealers = {"receive": (worker, url, lab_id), "receive+outbox": (worker, url, lab_id)}
            # Every server runs from the start; the load moves from one to the next, round
            # after round: on a shared machine whose load drifts, each ratio compares phases
            # a minute apart, and the medians over rounds say more than one long phase each.
            servers = {}
            with contextlib.ExitStack() as stack:
                if args.compare_ref:  # the ref seals its own log, as the project does
                    ref_queue = f"{queue}-ref"
                    ref_worker = stack.enter_context(process(
                        [sys.executable, "-m", "celery", "-A", "workers.worker", "worker", "-n",
                         f"bench@{ref_queue}", "-Q", ref_queue, "-c", "1", "--without-gossip",
                         "--without-mingle", "--loglevel=WARNING"],
                        {**env, **ref_env, "CELERY_TASK_DEFAULT_QUEUE": ref_queue,
                         "LEDGER_WITNESSES": ""}, instance / "worker-ref.log", root))
                    sealers[f"receive@{args.compare_ref}"] = (ref_worker, ref_url, seeded["lab"])
                for name, module, script, extra in targets:
                    port = free_port()
                    extra = dict(extra)
                    cwd = Path(extra.pop("_cwd", REPO))
                    server = stack.enter_context(process(
                        gunicorn(module, port, args.workers, args.threads), {**env, **extra},
                        instance / f"{name}.log", cwd))
                    base = f"http://127.0.0.1:{port}"
                    servers[name] = (server, base, script)
                if args.floor:
                    me_lua = instance / "me.lua"
                    me_lua.write_text(ME_LUA.format(
                        auth=f'wrk.headers["Authorization"] = "Bearer {token}"'))
                    servers["GET /me"] = (*servers["receive"][:2], me_lua)
                for name, (_server, base, _script) in servers.items():
                    wait_http(base + ("/chain" if name == "bare" else "/api/v1/openapi.json"))
                rounds = {name: [] for name in servers}
                databases = {name: bare_url if name == "bare" else ref_url if "@" in name
                             else url for name in servers}
                for _ in range(args.rounds):
                    for name, (server, base, script) in servers.items():
                        rounds[name].append(phase(wrk, server, sealers.get(name), base,
                                                  script, args, databases[name]))
            # while the witness still runs: the last checkpoint is cosigned like the others
            log_line, log_ok = check_log(app, lab_id)
        n_rounds = len(rounds["bare"])
        print(f"\nPostgreSQL, gunicorn --workers {args.workers}"
              + (f" --threads {args.threads}" if args.threads > 1 else " (sync)")
              + f", wrk -t{args.wrk_threads} -c{args.connections} -d{int(args.seconds)}s per "
              f"phase, {n_rounds} round(s) (medians); receive spread over {args.cases} cases; "
              f"{os.cpu_count()} CPUs; load average at the end {os.getloadavg()[0]:.1f}")
        for name, runs in rounds.items():
            ratios = [r["rps"] / max(b["rps"], 1e-9)
                      for r, b in zip(runs, rounds["bare"], strict=True)]
            cpu_ratios = [b["cpu_ms"] / max(r["cpu_ms"], 1e-9)
                          for r, b in zip(runs, rounds["bare"], strict=True)]
            med = {k: statistics.median(r[k] for r in runs)
                   for k in ("rps", "p50", "p99", "cpu_ms", "sys_ms", "db_cpu_ms")}
            ratio, each = statistics.median(ratios), ", ".join(f"{x:.2f}" for x in ratios)
            line = (f"{name[:15]:15s} {med['rps']:7.1f} req/s  ratio {ratio:4.2f} ({each})  "
                    f"p50 {med['p50']:7.1f} ms  p99 "
                    f"{med['p99']:7.1f} ms  server CPU {med['cpu_ms']:5.1f} ms/request (system "
                    f"{med['sys_ms']:.1f}; bare/this "
                    f"{statistics.median(cpu_ratios):.2f})  database CPU {med['db_cpu_ms']:4.1f} "
                    f"ms/request  non-2xx "
                    f"{sum(r['non2xx'] for r in runs)}  socket errors: "
                    f"{'; '.join(sorted({r['errors'] for r in runs}))}")
            if "delays" in runs[0]:
                delays = [d for r in runs for d in r["delays"]]
                leaves = sum(r["leaves"] for r in runs)
                line += (f"\n{'':15s} commit->sealed p50 {percentile(delays, 0.5):.0f} ms, p99 "
                         f"{percentile(delays, 0.99):.0f} ms over {len(delays)} events; all "
                         f"sealed {max(r['drain'] for r in runs):.1f} s after the load stopped "
                         f"(worst round); sealer CPU "
                         f"{statistics.median(r['sealer_cpu_ms'] for r in runs):.2f} ms per leaf "
                         f"({leaves} leaves, {leaves / max(1, len(delays)):.1f} per receive)")
            print(line)
        print(log_line)
        if not log_ok:
            raise SystemExit(1)
    finally:
        with contextlib.suppress(Exception):
            from ballistics.extensions import db
            with app.app_context():
                db.engine.dispose()
        drop_pg_database(url)
        drop_pg_database(bare_url)
        if ref_url:
            drop_pg_database(ref_url)


def phase(wrk: str, server, sealer: tuple | None, base: str, script: Path, args,
          database: str) -> dict:
    """One wrk phase against one running server (after a short warm-up); where a worker seals
    the server's log (``sealer``: worker process, database, lab id), waits until the phase's
    events are sealed and measures commit to sealed and the sealer's CPU."""
    run_wrk(wrk, base, script, args.warmup, args.wrk_threads, args.connections)
    worker = sealer[0] if sealer else server
    leaves_before = leaf_count(*sealer[1:]) if sealer else 0
    started = time.time()
    cpu = (cpu_seconds(server.pid), cpu_seconds(worker.pid), database_cpu_seconds(database),
           cpu_seconds(server.pid, (SYSTEM,)))
    r = run_wrk(wrk, base, script, args.seconds, args.wrk_threads, args.connections)
    r["window"] = (started, time.time())
    r["cpu_ms"] = (cpu_seconds(server.pid) - cpu[0]) / max(1, r["requests"]) * 1000
    r["sys_ms"] = (cpu_seconds(server.pid, (SYSTEM,)) - cpu[3]) / max(1, r["requests"]) * 1000
    r["db_cpu_ms"] = (database_cpu_seconds(database) - cpu[2]) / max(1, r["requests"]) * 1000
    if sealer:
        r.update(sealing(*sealer[1:], r["window"]))
        r["leaves"] -= leaves_before
        r["sealer_cpu_ms"] = (cpu_seconds(worker.pid) - cpu[1]) / max(1, r["leaves"]) * 1000
    return r


def _rows(url: str, sql: str, **params):
    """The rows of one query on the database at ``url`` (plain SQL: the ref's database is read
    the same way, whatever its models)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).all()
    finally:
        engine.dispose()


def leaf_count(url: str, lab_id: int) -> int:
    return _rows(url, "SELECT count(*) FROM ledger_leaves WHERE lab_id = :lab", lab=lab_id)[0][0]


def sealing(url: str, lab_id: int, window: tuple[float, float]) -> dict:
    """Wait until every custody event of the lab is sealed; the commit-to-sealed delays of the
    run's events."""
    from datetime import UTC, datetime

    deadline = time.monotonic() + 120
    while True:
        [(events, sealed)] = _rows(
            url, "SELECT (SELECT count(*) FROM custody_events WHERE lab_id = :lab), "
            "(SELECT count(*) FROM ledger_leaves WHERE lab_id = :lab "
            "AND kind = 'custody_event')", lab=lab_id)
        if sealed >= events or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    drain = time.time() - window[1]
    start, end = (datetime.fromtimestamp(t, UTC).replace(tzinfo=None) for t in window)
    delays = [(s - r).total_seconds() * 1000 for s, r in _rows(
        url, "SELECT sealed_at, recorded_at FROM ledger_leaves WHERE lab_id = :lab AND kind = "
        "'custody_event' AND recorded_at >= :start AND recorded_at <= :end",
        lab=lab_id, start=start, end=end)]
    return {"delays": delays, "drain": max(0.0, drain), "unsealed": events - sealed,
            "leaves": leaf_count(url, lab_id)}


def check_log(app, lab_id: int) -> tuple[str, bool]:
    """A checkpoint of the whole log, witnessed, and the log verified against it: what to
    print, and whether positions are gap-free and the log verifies."""
    from sqlalchemy import func, select

    from ballistics.extensions import db
    from ballistics.ledger import checkpointing
    from ballistics.ledger.models import LedgerLeaf
    from ballistics.ledger.verify import verify_lab

    with app.app_context():
        n, top = db.session.execute(select(func.count(), func.max(LedgerLeaf.position))
                                    .where(LedgerLeaf.lab_id == lab_id)).one()
        started = time.perf_counter()
        checkpointing.anchor(lab_id, n)
        result = verify_lab(lab_id)
        took = time.perf_counter() - started
        db.session.remove()
    return (f"log: {n} leaves, positions 0..{top} "
            f"{'gap-free' if top == n - 1 else 'WITH GAPS'}; {result.summary()} "
            f"(checkpoint + verification {took:.1f} s)", result.ok and top == n - 1)


if __name__ == "__main__":
    main()
