"""Histories written before the validity split get the structural and compositional columns from their CIFs."""

from __future__ import annotations

import polars as pl
from pymatgen.core import Lattice, Structure

from crystalbench.harness.crystal import to_cif
from crystalbench.harness.history import HISTORY_FILE, HISTORY_SCHEMA, read_histories, read_history


def _old_row(step: int, structure: Structure | None) -> dict:
    return {"suite": "s", "cell_id": "c", "method": "m", "task": "t", "problem": "t", "seed": 0, "step": step,
            "batch": step, "value": 1.0, "score": 1.0, "valid": structure is not None, "physically_valid": False,
            "best_so_far": 1.0, "method_time_s": 0.0, "oracle_time_s": 0.0,
            "cif": to_cif(structure) if structure is not None else None}


def test_an_old_history_is_read_with_both_validity_columns_computed_from_its_cifs(tmp_path):
    rocksalt = Structure(Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    overlapping = Structure(Lattice.cubic(4.0), ["Na", "Cl"], [[0, 0, 0], [0.025, 0, 0]])
    sodium_chloride_3 = Structure(Lattice.cubic(5.0), ["Na", "Cl", "Cl", "Cl"],
                                  [[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0, 0], [0, 0.5, 0]])
    trial = tmp_path / "trials" / "c"
    trial.mkdir(parents=True)
    pl.DataFrame([_old_row(1, rocksalt), _old_row(2, overlapping), _old_row(3, sodium_chloride_3),
                  _old_row(4, None)]).write_parquet(trial / HISTORY_FILE)

    history = read_history(trial)
    assert history.columns == list(HISTORY_SCHEMA)
    assert history["structurally_valid"].to_list() == [True, False, True, False]
    assert history["compositionally_valid"].to_list() == [True, True, False, False], "NaCl3 is not charge neutral"
    assert read_histories(tmp_path).equals(history)
