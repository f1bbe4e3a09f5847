"""Reading a spec file within stated bounds: its size, its encoding, its nesting depth and its alias expansion.

A spec is small, hand-written YAML. Without bounds, a file that is not a spec costs far more
than a refusal: a YAML alias bomb (a few lines whose anchors expand to billions of values) is
built as shared references but blows up whatever walks it later (the spec hash, an error
message that shows the value), and 100,000 nested brackets exhaust PyYAML's recursive
composer. So the file is checked before it is built into Python objects: its size, that it is
UTF-8, and, from PyYAML's event stream (which the parser produces without recursion), how
deep it nests and how many values it holds once every alias is expanded. Each limit is
stated in the error that enforces it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from crystalbench.harness.errors import UserError

MAX_BYTES = 1 << 20
"""A spec file's size limit (1 MiB); the shipped configs are under 4 KiB."""
MAX_DEPTH = 32
"""How deep mappings and lists may nest; a spec needs 5 levels."""
MAX_VALUES = 100_000
"""How many values (scalars, lists, mappings) a spec may hold with every alias expanded."""


def read_spec_yaml(path: Path) -> Any:
    """The parsed YAML of the spec file ``path``; any problem is a one-line ``UserError`` naming the file."""
    if not path.is_file():
        raise UserError(f"spec file not found: {path}")
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise UserError(f"{path}: {size} bytes is too large for a spec (the limit is {MAX_BYTES} bytes)")
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read spec file {path}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: a spec is UTF-8 text, but byte {exc.start} is 0x{data[exc.start]:02x}") from None
    try:
        check_bounds(text)
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise UserError(f"{path}: malformed YAML{where}: {problem}") from None
    except UserError as exc:
        raise UserError(f"{path}: {exc}") from None


def check_bounds(text: str) -> None:
    """Raise a ``UserError`` if ``text`` nests deeper than ``MAX_DEPTH`` or expands to over ``MAX_VALUES`` values.

    Walks PyYAML's events once, keeping per open collection how many values it holds so
    far (itself and everything inside, aliases expanded); an anchored node's size is
    remembered when it ends, and an alias to it adds that size again.
    """
    sizes: dict[str, int] = {}
    open_nodes: list[list] = []  # [anchor, values so far] per open collection, outermost first
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            if len(open_nodes) >= MAX_DEPTH:
                raise UserError(f"nesting deeper than {MAX_DEPTH} levels at line {event.start_mark.line + 1} "
                                f"(the limit is {MAX_DEPTH})")
            open_nodes.append([event.anchor, 1])
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            anchor, added = open_nodes.pop()
        elif isinstance(event, yaml.ScalarEvent):
            anchor, added = event.anchor, 1
        elif isinstance(event, yaml.AliasEvent):
            anchor, added = None, sizes.get(event.anchor, 1)  # an undefined alias: the loader reports it
        else:
            continue
        if anchor is not None:
            sizes[anchor] = added
        if open_nodes:
            open_nodes[-1][1] += added
            if open_nodes[-1][1] > MAX_VALUES:
                raise UserError(f"more than {MAX_VALUES} values with its aliases expanded, at line "
                                f"{event.start_mark.line + 1} (the limit is {MAX_VALUES}; a YAML alias bomb?)")
