"""Regenerate ``mp_api_sample.json``: Materials Project records shaped like the API returns them.

The sample lets tests exercise ``harness.mp_fetch.records_to_table`` without a
network or an API key. Every record is built from a real row of the bundled
MP-20 subset (``mp20_subset.csv.gz``), laid out like
``SummaryDoc.model_dump()`` of mp-api (``structure`` as
``Structure.as_dict()``, ``elements`` as symbol strings, ``symmetry`` as a
dict). The first ``N_GOOD`` ternaries in file order become valid records; the
next two become broken ones: one without a structure, one whose lattice matrix
has the wrong shape (2 x 3), so no Structure can be built from it.

Run from the repository root::

    python harness/data/make_mp_api_sample.py

The output is deterministic (same bundled file => same JSON bytes).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

from pymatgen.core import Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer
from pymatgen.symmetry.groups import SpaceGroup

from crystalbench.harness.crystal import from_cif
from crystalbench.harness.dataset import bundled_path, read_table

N_GOOD = 6
OUT = Path(__file__).with_name("mp_api_sample.json")


def _symmetry(structure: Structure, number: int) -> dict:
    """The parts of emmet's SymmetryData the sample needs; ``number`` is the dataset's (MP's) value.

    The symbol is spglib's short international symbol at emmet's symprec (0.1),
    as MP reports it, when spglib finds the same group; otherwise pymatgen's
    symbol for ``number``.
    """
    group = SpaceGroup.from_int_number(number)
    analyzer = SpacegroupAnalyzer(structure, symprec=0.1)
    same = analyzer.get_space_group_number() == number
    return {
        "crystal_system": group.crystal_system.capitalize(),  # emmet's CrystalSystem values: "Cubic", ...
        "symbol": analyzer.get_space_group_symbol() if same else group.symbol,
        "number": number,
        "point_group": analyzer.get_point_group_symbol() if same else group.point_group,
    }


def _record(row: dict) -> dict:
    structure = from_cif(row["cif"])
    elements = ast.literal_eval(row["elements"])
    return {
        "material_id": row["material_id"],
        "formula_pretty": row["pretty_formula"],
        "formation_energy_per_atom": row["formation_energy_per_atom"],
        "band_gap": row["band_gap"],
        "energy_above_hull": row["e_above_hull"],
        "elements": elements,
        "nelements": len(elements),
        "nsites": len(structure),
        "symmetry": _symmetry(structure, row["spacegroup.number"]),
        "deprecated": False,
        "structure": structure.as_dict(),
    }


def build_records() -> list[dict]:
    """``N_GOOD`` valid ternary records, then one with no structure and one with an unbuildable lattice."""
    table = read_table(bundled_path())
    ternaries = [row for row in table.iter_rows(named=True) if len(ast.literal_eval(row["elements"])) == 3]
    records = [_record(row) for row in ternaries[:N_GOOD]]

    missing = _record(ternaries[N_GOOD])
    missing["structure"] = None
    records.append(missing)

    unbuildable = _record(ternaries[N_GOOD + 1])
    unbuildable["structure"]["lattice"]["matrix"] = unbuildable["structure"]["lattice"]["matrix"][:2]
    records.append(unbuildable)
    return records


def main() -> None:
    records = build_records()
    OUT.write_text(json.dumps(records, indent=1) + "\n")
    print(f"wrote {len(records)} records to {OUT}")


if __name__ == "__main__":
    main()
