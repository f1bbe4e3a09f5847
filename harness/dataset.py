"""The crystal dataset: structures (as CIF) with labels, a content digest, and the papers' filters.

The on-disk format is a CSV (optionally gzipped) or parquet table with the
columns of the bundled MP-20 subset (``COLUMNS``). Loading parses every CIF
once, drops the unparsable ones (counted in ``skipped``), and records each
crystal's site and element counts; the result is saved as parquet by the
``prepare`` step so trials load it in milliseconds and parse structures lazily.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

import numpy as np
import polars as pl
from pymatgen.core import Structure

from crystalbench.harness.crystal import from_cif
from crystalbench.harness.errors import UserError

COLUMNS = (
    "material_id",
    "pretty_formula",
    "formation_energy_per_atom",
    "band_gap",
    "e_above_hull",
    "elements",
    "spacegroup.number",
    "cif",
    "source",
)
BUNDLED_NAME = "mp20_subset.csv.gz"


def bundled_path() -> Path:
    """Path of the MP-20 subset shipped inside the package (see harness/data/PROVENANCE.md)."""
    return Path(str(files("crystalbench.harness") / "data" / BUNDLED_NAME))


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes: the dataset's identity in artifact keys and MLflow tags."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_table(path: Path) -> pl.DataFrame:
    """Read the raw on-disk table (CSV, CSV.gz or parquet) and check its columns."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"dataset file not found: {path}")
    try:
        if path.suffix == ".parquet":
            table = pl.read_parquet(path)
        else:
            table = pl.read_csv(path, infer_schema_length=0)
    except Exception as exc:
        raise UserError(f"cannot read dataset {path}: {_reason(exc)}") from exc
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise UserError(f"dataset {path} lacks columns {missing}")
    return table.select(COLUMNS).with_columns(
        pl.col("formation_energy_per_atom", "band_gap", "e_above_hull").cast(pl.Float64, strict=False),
        pl.col("spacegroup.number").cast(pl.Int64, strict=False),
    )


def _reason(exc: Exception) -> str:
    """Why a reader failed, in one line: polars' CSV errors quote whole fields (a CIF spans many lines)
    and add advice about its own parameters, so keep its original error and the byte offset only."""
    text = str(exc)
    original = re.search(r"Original error: ```(.*?)```", text, re.S)
    reason = original.group(1) if original else text.strip().split("\n")[0]
    reason = re.sub(r"\s*Field `.*?` is not properly escaped\.?", ": a field is not properly escaped (an unbalanced "
                    "quote?)", reason, flags=re.S)
    offset = re.search(r"current offset in the file is (\d+) bytes", text)
    reason = " ".join(reason.split()) + (f", at byte {offset.group(1)}" if offset else "")
    return reason if len(reason) <= 300 else reason[:300] + "…"


@dataclass(frozen=True, eq=False)
class Dataset:
    """Parsed crystals and labels.

    ``table`` holds ``COLUMNS`` plus ``n_sites`` and ``n_elements``; row ``i`` is
    crystal ``i``. ``digest`` identifies the source file and any filters applied.
    """

    table: pl.DataFrame
    digest: str
    skipped: int = 0
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_file(cls, path: Path | None = None) -> "Dataset":
        """Parse a dataset file (default: the bundled MP-20 subset); corrupt CIFs are skipped and counted."""
        path = Path(path) if path is not None else bundled_path()
        table = read_table(path)
        n_sites, n_elements = [], []
        for cif in table["cif"]:
            try:
                structure = from_cif(cif or "")
            except ValueError:
                structure = None
            ok = structure is not None and len(structure) > 0
            n_sites.append(len(structure) if ok else None)
            n_elements.append(len(structure.composition.elements) if ok else None)
        table = table.with_columns(
            pl.Series("n_sites", n_sites, dtype=pl.Int64),
            pl.Series("n_elements", n_elements, dtype=pl.Int64),
        )
        parsed = table.filter(pl.col("n_sites").is_not_null())
        return cls(table=parsed, digest=file_digest(path), skipped=table.height - parsed.height)

    @classmethod
    def load(cls, path: Path) -> "Dataset":
        """Load a dataset written by ``save`` (no CIF parsing)."""
        table = pl.read_parquet(path)
        digest_file = Path(path).with_suffix(".digest")
        digest, skipped = digest_file.read_text().split()
        return cls(table=table, digest=digest, skipped=int(skipped))

    def save(self, path: Path) -> None:
        """Write the parsed table as parquet, with the digest and skip count beside it."""
        self.table.write_parquet(path)
        Path(path).with_suffix(".digest").write_text(f"{self.digest} {self.skipped}\n")

    def __len__(self) -> int:
        return self.table.height

    def filter(
        self,
        n_elements: int | list[int] | None = None,
        max_sites: int | None = None,
        max_e_above_hull: float | None = None,
    ) -> "Dataset":
        """The papers' selections: element count (Crystal-LSBO: ternaries, 3), max sites, e_above_hull cap."""
        expr = pl.lit(True)
        desc = []
        if n_elements is not None:
            counts = [n_elements] if isinstance(n_elements, int) else list(n_elements)
            expr &= pl.col("n_elements").is_in(counts)
            desc.append(f"n_elements={sorted(counts)}")
        if max_sites is not None:
            expr &= pl.col("n_sites") <= max_sites
            desc.append(f"max_sites={max_sites}")
        if max_e_above_hull is not None:
            expr &= pl.col("e_above_hull") < max_e_above_hull
            desc.append(f"max_e_above_hull={max_e_above_hull}")
        if not desc:
            return self
        digest = hashlib.sha256(f"{self.digest}|{'|'.join(desc)}".encode()).hexdigest()
        return Dataset(table=self.table.filter(expr), digest=digest, skipped=self.skipped)

    def structure(self, i: int) -> Structure:
        """Crystal ``i`` (a copy: callers may modify it), parsed on first use and cached."""
        if i not in self._cache:
            self._cache[i] = from_cif(self.table["cif"][i])
        return self._cache[i].copy()

    def structures(self, indices: np.ndarray | list[int] | None = None) -> list[Structure]:
        """Crystals at ``indices`` (default: all), parsed lazily."""
        indices = range(len(self)) if indices is None else indices
        return [self.structure(int(i)) for i in indices]

    def labels(self, column: str) -> np.ndarray:
        """A label column as float array, shape (len(self),)."""
        return self.table[column].to_numpy().astype(float)
