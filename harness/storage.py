"""Where run outputs and artifacts live: a local path or an object-store URI (``s3://``, ``gs://``, ``file://``).

Every read and write of a run directory or an artifact store goes through a
``Location``: an fsspec filesystem and a path in it. A plain path is fsspec's
``file`` protocol, so local and remote storage share one code path. A file is
written whole: one object put on an object store (atomic there), a temporary
file renamed into place on a local disk, so no reader sees half a file.

What needs a local path (torch.load, XGBoost, an SQLite tracking store) uses
``Location.local_dir``: the location itself when it is local, else its mirror
under this node's cache (``CRYSTALBENCH_CACHE``, default
``~/.cache/crystalbench/remote``).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import fsspec
from fsspec.implementations.local import LocalFileSystem

from crystalbench.harness.errors import UserError

Where = str | os.PathLike
"""A plain path, a ``file://`` URI or any fsspec URI."""


def cache_root() -> Path:
    """This node's cache of remote locations: ``CRYSTALBENCH_CACHE``, else ``~/.cache/crystalbench/remote``."""
    return Path(os.environ.get("CRYSTALBENCH_CACHE", "~/.cache/crystalbench/remote")).expanduser().resolve()


class Location:
    """A file or directory: an fsspec filesystem and a path in it (no protocol prefix)."""

    def __init__(self, fs: fsspec.AbstractFileSystem, path: str):
        self.fs = fs
        self.path = path.rstrip("/") or "/"

    @property
    def is_local(self) -> bool:
        return isinstance(self.fs, LocalFileSystem)

    @property
    def protocol(self) -> str:
        protocol = self.fs.protocol
        return protocol if isinstance(protocol, str) else protocol[0]

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def parent(self) -> Location:
        return Location(self.fs, self.path.rsplit("/", 1)[0])

    def __truediv__(self, name: str) -> Location:
        return Location(self.fs, f"{self.path}/{name}")

    def __str__(self) -> str:
        """The plain path when local, else the URI: what messages and records show."""
        return self.path if self.is_local else self.fs.unstrip_protocol(self.path)

    def __repr__(self) -> str:
        return f"Location({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Location) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def local_dir(self) -> Path:
        """Where this location is on this node: itself when local, else its mirror under ``cache_root()``."""
        return Path(self.path) if self.is_local else cache_root() / self.protocol / self.path

    def exists(self) -> bool:
        return self.fs.exists(self.path)

    def is_file(self) -> bool:
        return self.fs.isfile(self.path)

    def glob(self, pattern: str) -> list[Location]:
        """Files and directories under this location matching ``pattern`` (fsspec glob), sorted by path."""
        return [Location(self.fs, p) for p in sorted(self.fs.glob(f"{self.path}/{pattern}"))]

    def files(self) -> list[str]:
        """Paths of every file below this directory, relative to it, sorted."""
        return sorted(p[len(self.path) + 1 :] for p in self.fs.find(self.path))

    def read_bytes(self) -> bytes:
        return self.fs.cat_file(self.path)

    def read_text(self) -> str:
        return self.read_bytes().decode("utf-8")

    def write_bytes(self, data: bytes, exclusive: bool = False) -> None:
        """Write the whole file at once; ``exclusive``: only if it does not exist yet (else FileExistsError).

        Exclusive creation is atomic where the backend supports it (local disks, S3, GCS), and
        a reader never sees the file half-written; on other backends it is a check-then-write.
        """
        self._make_parent()
        if self.is_local:
            tmp = f"{self.parent.path}/.{self.name}.{uuid.uuid4().hex[:8]}.tmp"
            self.fs.pipe_file(tmp, data)
            if exclusive:  # a hard link fails if the name exists: created whole, or not at all
                try:
                    os.link(tmp, self.path)
                except FileExistsError:
                    raise
                except OSError:  # a filesystem without hard links: an exclusive create, then the bytes
                    with open(self.path, "xb") as f:
                        f.write(data)
                finally:
                    os.unlink(tmp)
                return
            os.replace(tmp, self.path)
        else:
            self.fs.pipe_file(self.path, data, mode="create" if exclusive else "overwrite")

    def write_text(self, text: str, exclusive: bool = False) -> None:
        self.write_bytes(text.encode("utf-8"), exclusive)

    def upload(self, local_dir: Path) -> None:
        """Copy every file below ``local_dir`` to the same relative path below this location."""
        for file in sorted(p for p in Path(local_dir).rglob("*") if p.is_file()):
            target = self / file.relative_to(local_dir).as_posix()
            target._make_parent()
            self.fs.put_file(str(file), target.path)

    def download(self, local_dir: Path) -> None:
        """Copy every file below this location to the same relative path below ``local_dir``."""
        for rel in self.files():
            target = Path(local_dir) / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            self.fs.get_file(f"{self.path}/{rel}", str(target))

    def remove(self) -> None:
        """Delete this file or directory tree (nothing if it does not exist)."""
        if self.exists():
            self.fs.rm(self.path, recursive=True)

    def _make_parent(self) -> None:
        """Local disks need the directory before the file; object stores have no directories."""
        if self.is_local:
            self.fs.makedirs(self.parent.path, exist_ok=True)

    def check_writable(self, what: str) -> None:
        """Write and delete a probe file here, so an unreachable bucket fails before any work starts.

        Local directories the probe had to create are removed again: a sweep refused by a
        later check leaves nothing behind.
        """
        probe = self / f".crystalbench-probe-{uuid.uuid4().hex[:8]}"
        missing = _missing_directories(Path(self.path)) if self.is_local else []
        try:
            probe.write_bytes(b"")
            probe.remove()
        except Exception as exc:  # any backend's failure: missing bucket, no credentials, no network
            reason = str(exc).splitlines()[0] if str(exc) else "no message"
            raise UserError(f"{what} {self} is not writable: {type(exc).__name__}: {reason}") from exc
        finally:
            for directory in missing:
                if directory.is_dir():
                    directory.rmdir()


def _missing_directories(path: Path) -> list[Path]:
    """``path`` and its ancestors that do not exist yet, deepest first."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    return missing


def location(where: Where | Location, what: str = "storage location") -> Location:
    """The ``Location`` of a plain path (resolved, ``~`` expanded), a ``file://`` URI or an fsspec URI.

    An unknown protocol or a missing fsspec backend is a ``UserError`` naming ``what``.
    """
    if isinstance(where, Location):
        return where
    text = os.fspath(where)
    protocol, _ = fsspec.core.split_protocol(text)
    if protocol is None:
        text = str(Path(text).expanduser().resolve())
    try:
        fs, path = fsspec.core.url_to_fs(text, use_listings_cache=False)
    except ValueError as exc:
        raise UserError(f"{what} {text!r}: unknown storage protocol {protocol!r} ({exc})") from exc
    except ImportError as exc:
        raise UserError(f"{what} {text!r}: {exc} (pip install 'crystalbench[cloud]' for s3:// and gs://)") from exc
    return Location(fs, path)
