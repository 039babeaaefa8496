"""Costs of the ledger's building blocks, each against a baseline measured in the same run.

- Sealing: appending a leaf to the compact range and computing the new root, against bare
  SHA-256 of the leaf (the floor) and against recomputing the root from every leaf (what a
  sealer without stored right-edge hashes would do).
- Proofs on a tree of N leaves: generation through the node-lookup callback, verification.
- Checkpoint signing and opening (Ed25519, PyNaCl), cosigning.
- A witness round trip: add-checkpoint in process (SQLite), and over HTTP to the witness
  process (gunicorn, loopback), p50/p99.

    PYTHONPATH=. .venv/bin/python benchmarks/ledger_primitives.py --leaves 200000 --rounds 200
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ballistics.ledger import checkpoints, merkle, notes, witness_client  # noqa: E402
from ballistics.witness import store  # noqa: E402
from ballistics.witness.service import Witness  # noqa: E402
from tests.ledger.helpers import ORIGIN, ToyLog  # noqa: E402


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}/s"


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def bench_sealing(n: int) -> None:
    data = [hashlib.sha256(str(i).encode()).digest() for i in range(n)]
    t = time.perf_counter()
    leaves = [merkle.leaf_hash(d) for d in data]
    floor = time.perf_counter() - t
    edge = merkle.CompactRange()
    t = time.perf_counter()
    for leaf in leaves:
        edge.append(leaf)
        edge.root()
    incremental = time.perf_counter() - t
    print(f"sealing {n:,} leaves: leaf hash only {rate(n, floor)}; append + new root "
          f"{rate(n, incremental)} (ratio to the floor {floor / incremental:.2f})")
    t = time.perf_counter()
    full = merkle.root_from_leaf_hashes(leaves)
    recompute = time.perf_counter() - t
    assert full == edge.root()
    t = time.perf_counter()
    probe = edge.copy()
    probe.append(leaves[0])
    probe.root()
    one = time.perf_counter() - t
    print(f"  one more leaf at n={n:,}: incremental {one * 1e6:.0f} us, recompute from all "
          f"leaves {recompute * 1e3:.0f} ms ({recompute / one:,.0f}x slower)")


def bench_proofs(n: int, rounds: int) -> None:
    leaves = [merkle.leaf_hash(str(i).encode()) for i in range(n)]
    t = time.perf_counter()
    tree = merkle.MemoryTree(leaves)
    build = time.perf_counter() - t
    rng = random.Random(1)
    gen, ver = [], []
    for _ in range(rounds):
        size = rng.randint(2, n)
        index, old = rng.randrange(size), rng.randint(1, size - 1)
        t = time.perf_counter()
        p1 = tree.inclusion_proof(index, size)
        p2 = tree.consistency_proof(old, size)
        gen.append(time.perf_counter() - t)
        root, old_root = tree.root(size), tree.root(old)
        t = time.perf_counter()
        merkle.verify_inclusion(leaves[index], index, size, p1, root)
        merkle.verify_consistency(old, size, p2, old_root, root)
        ver.append(time.perf_counter() - t)
    print(f"proofs on {n:,} leaves (tree built in {build:.2f} s, {len(tree._nodes):,} nodes): "
          f"inclusion + consistency generated in p50 {pct(gen, .5) * 1e6:.0f} us, "
          f"verified in p50 {pct(ver, .5) * 1e6:.0f} us")


def bench_signing(rounds: int) -> None:
    log = ToyLog()
    log.grow(1000)
    cosigner = notes.CosignatureSigner(notes.Ed25519Signer.generate("witness.example/w"))
    body = checkpoints.Checkpoint(ORIGIN, 1000, log.tree.root()).body()
    t = time.perf_counter()
    for _ in range(rounds):
        signed = notes.sign_note(body, [log.signer]).encode()
    sign = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(rounds):
        checkpoints.open_checkpoint(signed, [log.signer.verifier()])
    open_ = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(rounds):
        cosigner.sign(body.encode())
    cosign = time.perf_counter() - t
    print(f"checkpoints: sign {rate(rounds, sign)}, open+verify {rate(rounds, open_)}, "
          f"cosign {rate(rounds, cosign)}")


def bench_witness(rounds: int, workdir: Path) -> None:
    log = ToyLog()
    log.grow(rounds * 3 + 1)
    signer = store.create_key(workdir / "w.key", "witness.example/bench")
    db = f"sqlite:///{workdir / 'w.sqlite'}"
    w = Witness(store.open_database(db), notes.CosignatureSigner(signer))
    w.add_log(ORIGIN, log.vkey)
    inproc, size = [], 0
    for _ in range(rounds):
        body = (f"old {size}\n".encode()
                + b"".join(base64.b64encode(h) + b"\n"
                           for h in log.proof(size, size + 1)) + b"\n"
                + log.checkpoint(size + 1))
        t = time.perf_counter()
        w.add_checkpoint(body)
        inproc.append(time.perf_counter() - t)
        size += 1
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    port = 18000 + os.getpid() % 1000
    proc = subprocess.Popen([sys.executable, "-m", "ballistics.witness", "serve", "--db", db,
                             "--key", str(workdir / "w.key"), "--port", str(port),
                             "--workers", "1"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                vkey = urllib.request.urlopen(url + "/", timeout=1).read().decode().strip()
                break
            except OSError:
                time.sleep(0.1)
        hub = witness_client.Witness.from_vkey(url, vkey)
        http = []
        for _ in range(rounds):
            signed = log.checkpoint(size + 2)
            t = time.perf_counter()
            witness_client.add_checkpoint(hub, signed, size, log.proof(size, size + 2))
            http.append(time.perf_counter() - t)
            size += 2
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    print(f"witness add-checkpoint ({rounds} rounds, SQLite): in process p50 "
          f"{pct(inproc, .5) * 1e3:.1f} ms p99 {pct(inproc, .99) * 1e3:.1f} ms; over HTTP p50 "
          f"{pct(http, .5) * 1e3:.1f} ms p99 {pct(http, .99) * 1e3:.1f} ms "
          f"(HTTP overhead {statistics.median(http) / statistics.median(inproc):.1f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaves", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    bench_sealing(args.leaves)
    bench_proofs(args.leaves, args.rounds)
    bench_signing(args.rounds * 10)
    with tempfile.TemporaryDirectory() as tmp:
        bench_witness(args.rounds, Path(tmp))


if __name__ == "__main__":
    main()
