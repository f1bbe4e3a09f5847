"""Content-addressed artifact store: build once per (data, config, code version), reuse everywhere.

An artifact is a directory named by the sha256 of its key (a JSON-able dict),
``<root>/<kind>/<digest>/``, and it exists once its ``key.json`` does: readers
trust nothing else. The root is a local path or any fsspec URI
(``harness.storage``); consumers always get a local directory, because
torch.load, XGBoost and parquet readers need one.

* Local root: builders of one key take a lock file, so concurrent prepare steps
  (several methods sharing one trained model, say) build it once and the others
  wait; the builder writes into a temporary sibling directory renamed into
  place, ``key.json`` included.
* Object-store root: the local directory is a copy in this node's cache
  (``Location.local_dir``), built or downloaded under the same per-node lock. A
  builder uploads its files under ``<digest>/<build id>/`` and then publishes
  by creating ``<digest>/key.json`` (``{"build": id, "key": ...}``) only if it
  does not exist yet. Builders on different nodes may race (the lock covers one
  node); the first to publish wins, a loser deletes its upload and downloads
  the winner's, so every node uses the same build and no reader sees files of
  two builds mixed. Where a backend cannot create exclusively, the last
  publisher wins instead, still never mixed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from crystalbench import __version__
from crystalbench.harness.storage import Location, Where, location

KEY_FILE = "key.json"
DIGEST_RE = re.compile(r"^[0-9a-f]{64}$")


def key_digest(key: dict) -> str:
    """Stable sha256 of a JSON-able key (sorted keys; the code version is always part of it)."""
    payload = json.dumps({"code_version": __version__, **key}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def default_artifact_root() -> str:
    """``CRYSTALBENCH_ARTIFACTS`` (a path or a URI), else ``~/.cache/crystalbench/artifacts``.

    Where a spec without ``storage.artifacts`` builds.
    """
    return os.environ.get("CRYSTALBENCH_ARTIFACTS") or str(Path("~/.cache/crystalbench/artifacts").expanduser())


class ArtifactStore:
    """Content-addressed artifacts under ``root/<kind>/<digest>/`` (root: a path or an fsspec URI)."""

    def __init__(self, root: Where | Location):
        self.home = location(root, "storage.artifacts")
        self.root = self.home.local_dir()
        """This node's directory of the store: the root itself when local, else its cache."""

    def path(self, kind: str, key: dict) -> Path:
        """Where the artifact for ``key`` lives on this node (it may not exist yet)."""
        return self.root / kind / key_digest(key)

    def where(self, local: Path) -> str:
        """The store-wide name of a local artifact path (or a file in one): what trials on other nodes resolve."""
        return str(self.home / Path(local).relative_to(self.root).as_posix())

    def get_or_build(self, kind: str, key: dict, build: Callable[[Path], None]) -> Path:
        """Return the artifact directory for ``key``, calling ``build(tmpdir)`` first if it is missing."""
        final = self.path(kind, key)
        if (final / KEY_FILE).is_file():
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        locks = self.root / ".locks" / kind
        locks.mkdir(parents=True, exist_ok=True)
        with open(locks / f"{final.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if (final / KEY_FILE).is_file():  # built or fetched by whoever held the lock before us
                return final
            remote = None if self.home.is_local else self.home / kind / final.name
            if remote is not None and _download(remote, final):
                return final
            tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
            try:
                build(tmp)
                (tmp / KEY_FILE).write_text(json.dumps({"code_version": __version__, **key}, sort_keys=True, default=str))
                if remote is None or _publish(tmp, remote):
                    os.rename(tmp, final)
                else:
                    _download(remote, final)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        return final


def local_artifact(where: Where) -> Path:
    """The local path of an artifact directory or a file in one, as ``ArtifactStore.where`` names it.

    A local name is the path itself. A remote one is downloaded into this node's cache on first use.
    """
    loc = location(where, "artifact")
    if loc.is_local:
        return Path(loc.path)
    parts = loc.path.split("/")
    digest_at = next((i for i, part in enumerate(parts) if DIGEST_RE.match(part)), None)
    if digest_at is None:
        raise ValueError(f"{loc} is not inside a content-addressed artifact")
    artifact = Location(loc.fs, "/".join(parts[: digest_at + 1]))
    local = artifact.local_dir()
    if not (local / KEY_FILE).is_file() and not _download(artifact, local):
        raise FileNotFoundError(f"artifact {artifact} is not published (no {KEY_FILE})")
    return local.joinpath(*parts[digest_at + 1 :])


def _publish(built: Path, remote: Location) -> bool:
    """Upload ``built`` as one build of ``remote`` and try to publish it; False: another build was first."""
    build_id = uuid.uuid4().hex
    files = remote / build_id
    files.upload(built)
    key = json.loads((built / KEY_FILE).read_text())
    try:
        (remote / KEY_FILE).write_text(json.dumps({"build": build_id, "key": key}, sort_keys=True), exclusive=True)
    except FileExistsError:
        files.remove()
        return False
    return True


def _download(remote: Location, local: Path) -> bool:
    """Copy the published build of ``remote`` to ``local`` (atomically); False if none is published."""
    marker = remote / KEY_FILE
    if not marker.is_file():
        return False
    build_id = json.loads(marker.read_text())["build"]
    local.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{local.name}.", dir=local.parent))
    try:
        (remote / build_id).download(tmp)
        try:
            os.rename(tmp, local)
        except OSError:  # another process of this node put it there first: same build
            if not (local / KEY_FILE).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return True
