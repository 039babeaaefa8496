"""Import a past version of ``ballistics.imaging`` from git, to measure it in the same run.

``legacy("d9ea1f1", "cmc110")`` extracts ``ballistics/imaging`` at that commit into a temporary
directory as the package ``cmc110`` (its absolute imports rewritten), so the old and the new
science run side by side on the same machine, load and data.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: The last commit with cmc-1.1.0 (before science v2).
CMC_110 = "d9ea1f1"


def legacy(commit: str = CMC_110, name: str = "cmc110"):
    """The package ``ballistics.imaging`` as it was at ``commit``, imported as ``name``."""
    if name in sys.modules:
        return sys.modules[name]
    root = Path(tempfile.mkdtemp(prefix="legacy-imaging-"))
    pkg = root / name
    pkg.mkdir()
    files = subprocess.run(["git", "ls-tree", "--name-only", commit, "ballistics/imaging/"],
                           cwd=REPO, check=True, capture_output=True, text=True).stdout.split()
    for f in files:
        text = subprocess.run(["git", "show", f"{commit}:{f}"], cwd=REPO, check=True,
                              capture_output=True).stdout
        if f.endswith(".py"):
            text = text.replace(b"ballistics.imaging", name.encode())
        (pkg / Path(f).name).write_bytes(text)
    sys.path.insert(0, str(root))
    mod = importlib.import_module(name)
    assert mod.ALGORITHM_VERSION == "cmc-1.1.0" or commit != CMC_110
    return mod
