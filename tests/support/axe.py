"""axe-core (Deque's accessibility rules engine) for browser tests: fetched once from the npm
registry into ``.cache/axe-core/<version>/`` (never at app run time), checked against the
registry's published integrity, and run inside a Playwright page.

``scripts/lib.sh`` makes sure ``npm`` exists (Debian's package, like chromium); the download
itself happens here, the first time a test asks for it."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest

from tests.support.services import REPO, need_service

VERSION = "4.14.1"
#: the registry's ``dist.integrity`` of axe-core-4.14.1.tgz: a changed tarball is refused
INTEGRITY = ("sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuF"
             "ooJpZe37OgudVGtQ==")
CACHE = REPO / ".cache" / "axe-core" / VERSION
#: WCAG 2.x A and AA rules and axe's best practices (landmarks, skip link, headings)
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
BLOCKING = ("serious", "critical")


def axe_script() -> Path:
    """Path of ``axe.min.js``, downloaded with ``npm pack`` on first use."""
    target = CACHE / "axe.min.js"
    if target.exists():
        return target
    npm = shutil.which("npm")
    if npm is None:
        need_service("npm (apt-get install npm; scripts/lib.sh does it)")
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([npm, "pack", f"axe-core@{VERSION}", "--pack-destination", tmp,
                               "--silent"], capture_output=True, text=True, timeout=300,
                              check=False)
        if done.returncode != 0:
            need_service("the npm registry", RuntimeError(done.stderr.strip()[-500:]))
        tarball = next(Path(tmp).glob("axe-core-*.tgz")).read_bytes()
    digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    if digest != INTEGRITY:
        pytest.fail(f"axe-core {VERSION} from the registry does not match its pinned integrity")
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        source = tar.extractfile("package/axe.min.js")
        assert source is not None
        install(target, source.read())
    return target


def install(target: Path, data: bytes) -> None:
    """Write ``target`` whole or not at all. Each caller writes a partial file of its own
    (several xdist workers fetch axe at once on a clean clone; a shared ``.part`` name let one
    rename the other's file away, and the other's rename then failed), then renames it over
    the target: the last rename wins, with the same content."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".part")
    with os.fdopen(fd, "wb") as partial:
        partial.write(data)
    Path(name).replace(target)


def run_axe(page, script: Path) -> list[dict]:
    """axe's violations on the page as loaded (each: id, impact, help, nodes' targets).

    The page's CSP allows no injected script tag; ``evaluate`` goes through the DevTools
    protocol, which the CSP does not govern."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(script.read_text(encoding="utf-8") + "\n;undefined")
    return page.evaluate(
        """async (tags) => {
             const r = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                                resultTypes: ['violations']});
             return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
               nodes: v.nodes.map(n => ({target: n.target.join(' '),
                                         summary: n.failureSummary}))}));
           }""", TAGS)


def blocking(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in BLOCKING]


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['impact']}: {v['id']} ({v['help']})")
        lines.extend(f"    {n['target']}: {(n['summary'] or '').splitlines()[-1:]}"
                     for n in v["nodes"][:6])
    return "\n".join(lines)
