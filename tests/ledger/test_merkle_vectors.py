"""Known-answer tests for the RFC 9162 Merkle tree, from published vectors.

Sources (copied unchanged into tests/ledger/vectors/, Apache-2.0):
- transparency-dev/merkle, commit 417fb0c314750d94e53942e9f92e79b6d35915db:
  ``testonly/constants.go`` (the RFC 6962 reference leaves of the Certificate Transparency C++
  implementation, with every root hash for sizes 0-8 and every perfect node hash) and
  ``testdata/{inclusion,consistency}/**.json`` (98 + 98 verification probes: happy paths and
  mutations, each with the expected outcome).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from ballistics.ledger import merkle

VECTORS = Path(__file__).parent / "vectors"

# testonly/constants.go: LeafInputs(), RootHashes() and NodeHashes().
LEAF_INPUTS = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f")]
ROOTS = [bytes.fromhex(h) for h in (
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]
NODE_HASHES = [[bytes.fromhex(h) for h in level] for level in (
    ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
     "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
     "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
     "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
     "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
     "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
     "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
     "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"],
    ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
     "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"],
    ["d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
     "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
)]


def _probes(kind: str) -> dict[str, dict]:
    data = json.loads((VECTORS / f"transparency-dev-merkle-{kind}.json").read_text())
    assert data["commit"] == "417fb0c314750d94e53942e9f92e79b6d35915db"
    return data["probes"]


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value or "")


def _proof(probe: dict) -> list[bytes]:
    return [_b64(h) for h in probe.get("proof") or []]


INCLUSION = _probes("inclusion")
CONSISTENCY = _probes("consistency")
LEAVES = [merkle.leaf_hash(d) for d in LEAF_INPUTS]


def test_root_of_every_prefix_matches_the_reference():
    assert ROOTS[0] == merkle.EMPTY_ROOT
    for size in range(len(LEAVES) + 1):
        assert merkle.root_from_leaf_hashes(LEAVES[:size]) == ROOTS[size], size


def test_compact_range_reaches_every_reference_root_and_node():
    edge = merkle.CompactRange()
    assert edge.root() == ROOTS[0]
    seen = {}
    for size, leaf in enumerate(LEAVES, start=1):
        for node in edge.append(leaf):
            seen[node.level, node.index] = node.hash
        assert edge.root() == ROOTS[size], size
    want = {(level, i): h for level, row in enumerate(NODE_HASHES) for i, h in enumerate(row)}
    assert seen == want


def test_memory_tree_answers_past_roots():
    tree = merkle.MemoryTree(LEAVES)
    assert [tree.root(size) for size in range(9)] == ROOTS


@pytest.mark.parametrize("path", sorted(INCLUSION))
def test_inclusion_probe(path):
    p = INCLUSION[path]
    args = (_b64(p["leafHash"]), p["leafIdx"], p["treeSize"], _proof(p), _b64(p["root"]))
    if p["wantErr"]:
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(*args)
    else:
        merkle.verify_inclusion(*args)


@pytest.mark.parametrize("path", sorted(CONSISTENCY))
def test_consistency_probe(path):
    p = CONSISTENCY[path]
    args = (p["size1"], p["size2"], _proof(p), _b64(p["root1"]), _b64(p["root2"]))
    if p["wantErr"]:
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(*args)
    else:
        merkle.verify_consistency(*args)


def test_the_probes_include_both_outcomes():
    # Guards against a vector file that silently lost its negative (or positive) cases.
    for probes in (INCLUSION, CONSISTENCY):
        outcomes = [p["wantErr"] for p in probes.values()]
        assert outcomes.count(False) >= 5 and outcomes.count(True) >= 80


HAPPY_INCLUSION = sorted(k for k in INCLUSION if k.endswith("happy-path.json")
                         and "/additional/" not in k)
HAPPY_CONSISTENCY = sorted(k for k in CONSISTENCY if k.endswith("happy-path.json"))


@pytest.mark.parametrize("path", HAPPY_INCLUSION)
def test_generated_inclusion_proof_equals_the_published_one(path):
    # The happy paths are proofs over the reference leaves, so generation must reproduce them.
    p = INCLUSION[path]
    tree = merkle.MemoryTree(LEAVES)
    assert _b64(p["root"]) == tree.root(p["treeSize"])
    assert tree.inclusion_proof(p["leafIdx"], p["treeSize"]) == _proof(p)
    on_leaves = merkle.subtree_from_leaves(LEAVES)
    assert merkle.inclusion_proof(p["leafIdx"], p["treeSize"], on_leaves) == _proof(p)


@pytest.mark.parametrize("path", HAPPY_CONSISTENCY)
def test_generated_consistency_proof_equals_the_published_one(path):
    p = CONSISTENCY[path]
    tree = merkle.MemoryTree(LEAVES)
    assert _b64(p["root1"]) == tree.root(p["size1"])
    assert _b64(p["root2"]) == tree.root(p["size2"])
    assert tree.consistency_proof(p["size1"], p["size2"]) == _proof(p)


def test_happy_paths_cover_several_shapes():
    shapes = {(INCLUSION[k]["leafIdx"], INCLUSION[k]["treeSize"]) for k in HAPPY_INCLUSION}
    assert len(shapes) >= 4
    shapes = {(CONSISTENCY[k]["size1"], CONSISTENCY[k]["size2"]) for k in HAPPY_CONSISTENCY}
    assert len(shapes) >= 4
