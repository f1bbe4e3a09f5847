"""Seeds derived from names: a 64-bit word per string, so streams depend on what a thing is, not on order."""

from __future__ import annotations

import hashlib


def name_entropy(name: str) -> int:
    """A stable 64-bit integer for ``name`` (sha256, first 8 bytes little-endian), for ``numpy.random.SeedSequence``."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")
