"""What a sweep says on the console while it works: one line per phase, never silent for long.

A phase (starting Ray, preparing artifacts, judging) prints a line when it starts and
its duration when it ends; while it runs, a status line shows the elapsed time and what
it is waiting for. On a terminal the status line is rewritten in place every second; in a
log (not a terminal) a line is printed every ``LOG_EVERY_S`` seconds instead, so a CI log
shows progress without a flood.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

LOG_EVERY_S = 15.0
TTY_EVERY_S = 1.0


def duration(seconds: float) -> str:
    """``'7 s'``, ``'1 m 10 s'``, ``'1 h 02 m'``: how long, as a person reads it."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} m {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} m"


class Phase:
    """A running phase: ``detail`` says what it is waiting for now (shown after the elapsed time)."""

    def __init__(self, text: str, stream: TextIO, enabled: bool):
        self.text, self.stream, self.enabled = text, stream, enabled
        self.detail = ""
        self.start = time.monotonic()
        self._tty = enabled and stream.isatty()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, name="crystalbench-console", daemon=True)

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def _line(self) -> str:
        return f"{self.text} … {duration(self.elapsed())}" + (f" ({self.detail})" if self.detail else "")

    def _tick(self) -> None:
        every = TTY_EVERY_S if self._tty else LOG_EVERY_S
        while not self._stop.wait(every):
            if self._tty:
                self.stream.write("\r\033[K" + self._line())
            else:
                self.stream.write(self._line() + "\n")
            self.stream.flush()

    def __enter__(self) -> Phase:
        if self.enabled:
            self.stream.write(f"{self.text} …" + ("" if self._tty else "\n"))
            self.stream.flush()
            self._thread.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self.enabled:
            return
        self._stop.set()
        self._thread.join()
        outcome = "done" if exc_type is None else "stopped"
        self.stream.write(("\r\033[K" if self._tty else "") + f"{self.text} … {outcome} in {duration(self.elapsed())}\n")
        self.stream.flush()


@contextmanager
def phase(text: str, enabled: bool = True, stream: TextIO | None = None) -> Iterator[Phase]:
    """Say ``text`` while the block runs: a status line with its elapsed time, then how long it took."""
    with Phase(text, stream or sys.stderr, enabled) as running:
        yield running


def say(text: str, enabled: bool = True, stream: TextIO | None = None) -> None:
    """One line on the console (standard error, where the status lines go)."""
    if enabled:
        print(text, file=stream or sys.stderr, flush=True)


class SayHandler(logging.Handler):
    """Log records as ``say`` lines: the message only, on whatever ``sys.stderr`` is when it is emitted."""

    def emit(self, record: logging.LogRecord) -> None:
        say(self.format(record))


def log_to_console(logger_name: str = "crystalbench") -> None:
    """Show warnings of ``logger_name``'s loggers (a skipped unreadable file, say) as console lines, once."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(h, SayHandler) for h in logger.handlers):
        handler = SayHandler(logging.WARNING)
        logger.addHandler(handler)
        logger.propagate = False
