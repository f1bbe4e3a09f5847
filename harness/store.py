"""Content-addressed artifact store: build once per (data, config, code version), reuse everywhere.

An artifact is a directory named by the sha256 of its key (a JSON-able dict).
Builders of one key take a lock file, so concurrent prepare steps (several
methods sharing one trained model, say) build it once and the others wait; the
builder writes into a temporary sibling directory renamed into place, so no
reader ever sees a half-written artifact.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from harness import __version__


def key_digest(key: dict) -> str:
    """Stable sha256 of a JSON-able key (sorted keys; the code version is always part of it)."""
    payload = json.dumps({"code_version": __version__, **key}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def default_artifact_root() -> Path:
    """``CRYSTALBENCH_ARTIFACTS``, else ``~/.cache/crystalbench/artifacts``: where a spec without ``storage.artifacts`` builds."""
    return Path(os.environ.get("CRYSTALBENCH_ARTIFACTS", "~/.cache/crystalbench/artifacts")).expanduser().resolve()


class ArtifactStore:
    """A directory of content-addressed artifacts: ``root/<kind>/<digest>/``."""

    def __init__(self, root: Path | str):
        self.root = Path(root).expanduser()

    def path(self, kind: str, key: dict) -> Path:
        """Where the artifact for ``key`` lives (it may not exist yet)."""
        return self.root / kind / key_digest(key)

    def get_or_build(self, kind: str, key: dict, build: Callable[[Path], None]) -> Path:
        """Return the artifact directory for ``key``, calling ``build(tmpdir)`` first if it is missing."""
        final = self.path(kind, key)
        if (final / "key.json").is_file():
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        locks = self.root / ".locks" / kind
        locks.mkdir(parents=True, exist_ok=True)
        with open(locks / f"{final.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if (final / "key.json").is_file():  # built by whoever held the lock before us
                return final
            tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
            try:
                build(tmp)
                (tmp / "key.json").write_text(
                    json.dumps({"code_version": __version__, **key}, sort_keys=True, default=str)
                )
                os.rename(tmp, final)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        return final
