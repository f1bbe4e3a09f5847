"""One driver per run directory: a lock file that says who holds it, kept fresh while they do.

Two drivers on one run directory would both run every cell and log two parent runs, so a
driver (``crystalbench run``, ``crystalbench judge``) takes ``<run_dir>/driver.lock`` before it
writes anything there, and a second is refused in one line naming the holder. The lock is
created exclusively and whole through ``Location.write_bytes(exclusive=True)``: a hard link on a
local disk, a conditional put on S3 and GCS, so it works wherever run directories live.

A driver killed with SIGKILL cannot remove its lock, so the lock records its owner (host, pid,
a token) and a heartbeat that a thread rewrites every ``HEARTBEAT_S`` seconds. A lock is
stale when its owner is a process of this host that no longer exists, or when its heartbeat
is older than ``STALE_S``; the next driver then takes it over, saying so. Taking over is
itself exclusive: the taker first creates ``driver.lock.takeover-<token>`` for the stale
token, so of two drivers finding the same stale lock only one proceeds.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable

from crystalbench.harness.errors import UserError
from crystalbench.harness.storage import Location

LOCK_FILE = "driver.lock"
HEARTBEAT_S = 10.0
STALE_S = 60.0
"""A heartbeat this old means the holder is gone (six missed beats)."""


class RunDirLocked(UserError):
    """Another live driver holds the run directory."""


class RunDirLock:
    """The lock of one run directory; a context manager (``with RunDirLock(run_dir, say):``)."""

    def __init__(self, run_dir: Location, say: Callable[[str], None], command: str = "crystalbench run",
                 heartbeat_s: float = HEARTBEAT_S):
        self.file = run_dir / LOCK_FILE
        self.say = say
        self.heartbeat_s = heartbeat_s
        self.owner = {"host": socket.gethostname(), "pid": os.getpid(), "token": uuid.uuid4().hex,
                      "command": command, "since": time.time()}
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, name="crystalbench-lock", daemon=True)
        self._takeover: Location | None = None
        self._made_dir = run_dir.is_local and not run_dir.exists()
        """Whether taking the lock creates the run directory (removed again on release if left empty)."""

    def __enter__(self) -> RunDirLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock, or take over a stale one (saying so); ``RunDirLocked`` if a live driver holds it."""
        for attempt in range(5):  # the holder may release, or another driver take over, meanwhile: look again
            if attempt:
                time.sleep(0.2)
            try:
                self.file.write_bytes(self._record(), exclusive=True)
                break
            except FileExistsError:
                holder = self._read()
            if holder is None:
                continue
            stale = _why_stale(holder)
            if stale is None:
                raise RunDirLocked(f"run directory {self.file.parent} is in use by another driver "
                                   f"({_describe(holder)}); wait for it to end, or stop it")
            if self._take_over(holder):
                self.say(f"took over the lock of run directory {self.file.parent} from a driver that is gone "
                         f"({_describe(holder)}: {stale})")
                break
        else:
            raise RunDirLocked(f"run directory {self.file.parent}: could not take its lock ({self.file}); try again")
        self._beat.start()

    def release(self) -> None:
        """Stop the heartbeat and remove the lock (only if it is still ours)."""
        self._stop.set()
        if self._beat.is_alive():
            self._beat.join()
        holder = self._read()
        if holder is not None and holder.get("token") == self.owner["token"]:
            self.file.remove()
        if self._takeover is not None:
            self._takeover.remove()
        directory = self.file.parent
        if self._made_dir and directory.exists() and not directory.fs.ls(directory.path):
            try:  # a driver refused before writing anything leaves nothing behind
                directory.fs.rmdir(directory.path)
            except OSError:  # the driver that holds it wrote there in the meantime: it is theirs now
                pass

    def _take_over(self, holder: dict) -> bool:
        """Replace the stale ``holder``'s lock with ours, unless another driver is doing the same."""
        marker = self.file.parent / f"{LOCK_FILE}.takeover-{holder.get('token', 'none')}"
        try:
            marker.write_bytes(self._record(), exclusive=True)
        except FileExistsError:
            return False
        current = self._read()
        if current is not None and current.get("token") != holder.get("token"):
            marker.remove()  # released and retaken meanwhile: not stale any more
            return False
        self.file.remove()
        try:
            self.file.write_bytes(self._record(), exclusive=True)
        except FileExistsError:
            marker.remove()
            return False
        self._takeover = marker
        return True

    def _read(self) -> dict | None:
        """The lock's record, None when there is no lock; an unreadable lock counts as stale from the start."""
        try:
            data = self.file.read_bytes()
        except FileNotFoundError:
            return None
        try:
            record = json.loads(data)
        except ValueError:
            record = None
        return record if isinstance(record, dict) else {"token": "unreadable", "heartbeat": 0}

    def _record(self) -> bytes:
        return json.dumps({**self.owner, "heartbeat": time.time()}).encode()

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            holder = self._read()
            if holder is None or holder.get("token") != self.owner["token"]:
                self.say(f"warning: lost the lock of run directory {self.file.parent} "
                         f"({_describe(holder) if holder else 'removed'})")
                return
            self.file.write_bytes(self._record())


def _why_stale(holder: dict) -> str | None:
    """Why ``holder``'s lock no longer protects anything, or None while it does."""
    age = time.time() - float(holder.get("heartbeat") or 0)
    if holder.get("host") == socket.gethostname() and isinstance(holder.get("pid"), int):
        if not _alive(holder["pid"]):
            return f"process {holder['pid']} no longer exists"
    if age > STALE_S:
        return f"no heartbeat for {age:.0f} s"
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _describe(holder: dict) -> str:
    since = holder.get("since")
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since)) if isinstance(since, int | float) else "?"
    age = time.time() - float(holder.get("heartbeat") or 0)
    return (f"{holder.get('command', 'a driver')}, pid {holder.get('pid', '?')} on {holder.get('host', '?')}, "
            f"since {started}, last heartbeat {age:.0f} s ago")
