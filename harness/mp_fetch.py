"""Download a crystal dataset from the Materials Project into the on-disk table format.

The bundled MP-20 subset is small (2,485 crystals, see data/PROVENANCE.md). The
Crystal-LSBO paper trains on Materials Project ternaries with at most 40 sites
and energy above hull below 0.08 eV/atom; ``fetch_mp`` runs that query through
the official client (``pip install 'crystalbench[mp]'`` and an API key from
https://next-gen.materialsproject.org/api) and writes a table that
``harness.dataset.Dataset.from_file`` reads like the bundled one
(same ``COLUMNS``, P1 CIFs written by pymatgen, ``source`` = "MP-API").

``records_to_table`` is the pure conversion, tested offline on
data/mp_api_sample.json.
"""

from __future__ import annotations

import gzip
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import polars as pl
from pymatgen.core import Structure

from crystalbench.harness.crystal import to_cif
from crystalbench.harness.dataset import COLUMNS, file_digest
from crystalbench.harness.errors import UserError

SOURCE = "MP-API"
API_KEY_ENV = "MP_API_KEY"
# SummaryDoc fields the table needs (mp-api ``fields=``); everything else stays on the server.
FIELDS = [
    "material_id",
    "formula_pretty",
    "formation_energy_per_atom",
    "band_gap",
    "energy_above_hull",
    "elements",
    "symmetry",
    "structure",
]
SCHEMA = {
    "material_id": pl.String,
    "pretty_formula": pl.String,
    "formation_energy_per_atom": pl.Float64,
    "band_gap": pl.Float64,
    "e_above_hull": pl.Float64,
    "elements": pl.String,
    "spacegroup.number": pl.Int64,
    "cif": pl.String,
    "source": pl.String,
}
assert tuple(SCHEMA) == COLUMNS


@dataclass(frozen=True)
class FetchResult:
    """What ``fetch_mp`` wrote: the file, its row count, the records it skipped, and its sha256."""

    path: Path
    rows: int
    skipped: int
    digest: str


def _get(record: Any, name: str) -> Any:
    """A field of a SummaryDoc object or of its ``model_dump()`` dict (None when absent)."""
    if isinstance(record, dict):
        return record.get(name)
    return getattr(record, name, None)


def _float(value: Any) -> float | None:
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _structure(value: Any) -> Structure | None:
    """A usable Structure from a Structure or its ``as_dict()``; None when missing or not a sane 3-D crystal."""
    if value is None:
        return None
    try:
        structure = value if isinstance(value, Structure) else Structure.from_dict(value)
        matrix = structure.lattice.matrix
        frac = structure.frac_coords
        if (
            len(structure) == 0
            or matrix.shape != (3, 3)
            or not np.all(np.isfinite(matrix))
            or not structure.lattice.volume > 1e-6
            or not np.all(np.isfinite(frac))
        ):
            return None
        return structure
    except Exception:  # from_dict raises many types on malformed input
        return None


def _spacegroup_number(symmetry: Any) -> int | None:
    number = _get(symmetry, "number") if symmetry is not None else None
    try:
        return int(number) if number is not None else None
    except (TypeError, ValueError):
        return None


def _elements(record: Any, structure: Structure) -> str:
    """The elements as the bundled table writes them: a Python list literal, in the record's order."""
    elements = _get(record, "elements")
    if elements:
        symbols = [getattr(e, "symbol", str(e)) for e in elements]
    else:
        symbols = sorted(e.symbol for e in structure.composition.elements)
    return str(symbols)


def records_to_table(records: Iterable[Any]) -> tuple[pl.DataFrame, int]:
    """Convert Materials Project summary records into the on-disk table (``COLUMNS``), keeping their order.

    ``records``: mp-api ``SummaryDoc`` objects or the dicts ``doc.model_dump()``
    gives (``structure`` a pymatgen Structure or its ``as_dict()``). Records whose
    structure is missing, cannot be built, or is not a finite positive-volume
    cell (or whose CIF cannot be written) are skipped. Returns the table and the
    number skipped.
    """
    rows: dict[str, list] = {c: [] for c in COLUMNS}
    skipped = 0
    for record in records:
        structure = _structure(_get(record, "structure"))
        if structure is None:
            skipped += 1
            continue
        try:
            cif = to_cif(structure)
        except Exception:  # CifWriter on an odd structure (e.g. disordered species it cannot write)
            skipped += 1
            continue
        material_id = _get(record, "material_id")
        rows["material_id"].append(str(material_id) if material_id is not None else None)
        rows["pretty_formula"].append(_get(record, "formula_pretty") or structure.composition.reduced_formula)
        rows["formation_energy_per_atom"].append(_float(_get(record, "formation_energy_per_atom")))
        rows["band_gap"].append(_float(_get(record, "band_gap")))
        rows["e_above_hull"].append(_float(_get(record, "energy_above_hull")))
        rows["elements"].append(_elements(record, structure))
        rows["spacegroup.number"].append(_spacegroup_number(_get(record, "symmetry")))
        rows["cif"].append(cif)
        rows["source"].append(SOURCE)
    return pl.DataFrame(rows, schema=SCHEMA), skipped


def write_table(table: pl.DataFrame, out_path: Path) -> None:
    """Write a table as ``.csv``, ``.csv.gz`` or ``.parquet`` (by suffix), atomically: temp file, then rename.

    The gzip header carries no timestamp, so the same table gives the same bytes
    (and the same dataset digest).
    """
    out_path = Path(out_path)
    name = out_path.name.lower()
    if not (name.endswith(".parquet") or name.endswith(".csv") or name.endswith(".csv.gz")):
        raise UserError(f"output must end in .csv, .csv.gz or .parquet: {out_path}")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.tmp-{os.getpid()}")
    try:
        if name.endswith(".parquet"):
            table.write_parquet(tmp)
        elif name.endswith(".csv.gz"):
            with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
                table.write_csv(gz)
        else:
            table.write_csv(tmp)
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)


def _api_key(api_key: str | None) -> str:
    key = (api_key or os.environ.get(API_KEY_ENV) or "").strip()
    if not key:
        raise UserError(
            f"no Materials Project API key: pass one or set {API_KEY_ENV} "
            "(get it at https://next-gen.materialsproject.org/api)"
        )
    if len(key) != 32:
        raise UserError(f"Materials Project API keys are 32 characters; the one given has {len(key)}")
    return key


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def fetch_mp(
    out_path: Path,
    api_key: str | None = None,
    num_elements: int | tuple[int, int] | None = 3,
    max_sites: int = 40,
    max_e_above_hull: float = 0.08,
    chunk_size: int = 1000,
    include_gnome: bool = False,
    num_chunks: int | None = None,
) -> FetchResult:
    """Query the Materials Project summary endpoint and write the result as a dataset file.

    Defaults are Crystal-LSBO's training set: ternaries, <= 40 sites, energy
    above hull in [0, 0.08] eV/atom (the API's range is inclusive; apply
    ``Dataset.filter(max_e_above_hull=...)`` for the strict cap), deprecated
    materials and GNoME entries excluded. ``num_elements`` is a count, an
    inclusive (min, max) range, or None for any; ``num_chunks`` caps the
    download (None: everything). Rows are sorted by material_id so the same
    database release gives the same file. Raises UserError for a missing key,
    a missing mp-api, or a failed query.
    """
    key = _api_key(api_key)
    try:
        from mp_api.client import MPRester
        from mp_api.client.core.exceptions import MPRestError
    except ImportError as exc:
        raise UserError(f"mp-api is not installed ({exc}); run: pip install 'crystalbench[mp]'") from exc

    query: dict[str, Any] = {
        "num_sites": (1, int(max_sites)),
        "energy_above_hull": (0.0, float(max_e_above_hull)),
        "deprecated": False,
        "include_gnome": include_gnome,
        "fields": list(FIELDS),
        "all_fields": False,
        "chunk_size": int(chunk_size),
        "num_chunks": num_chunks,
    }
    if num_elements is not None:
        query["num_elements"] = num_elements if isinstance(num_elements, int) else tuple(num_elements)
    try:
        with MPRester(key) as mpr:
            docs = mpr.materials.summary.search(**query)
    except (MPRestError, OSError) as exc:  # requests' errors are OSErrors
        raise UserError(f"Materials Project query failed: {_one_line(exc)}") from exc

    table, skipped = records_to_table(docs)
    table = table.sort("material_id")
    write_table(table, Path(out_path))
    return FetchResult(path=Path(out_path), rows=table.height, skipped=skipped, digest=file_digest(Path(out_path)))


fetch_mp_command = fetch_mp
