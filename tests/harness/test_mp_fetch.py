"""harness.mp_fetch offline: records -> table conversion on the shipped API-shaped sample, and fetch_mp
against a fake mp-api client (no network, no API key)."""

from __future__ import annotations

import copy
import inspect
import json
import sys
import types
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Lattice, Structure

from crystalbench.harness.dataset import COLUMNS, Dataset, bundled_path, read_table
from crystalbench.harness.errors import UserError
from crystalbench.harness.mp_fetch import (
    FIELDS,
    SCHEMA,
    SOURCE,
    fetch_mp,
    fetch_mp_command,
    records_to_table,
    write_table,
)

SAMPLE = bundled_path().parent / "mp_api_sample.json"
FAKE_KEY = "x" * 32


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return json.loads(SAMPLE.read_text())


@pytest.fixture(scope="module")
def good(records: list[dict]) -> list[dict]:
    return [r for r in records if _buildable(r)]


def _buildable(record: dict) -> bool:
    try:
        Structure.from_dict(record["structure"])
    except Exception:
        return False
    return True


@pytest.fixture(scope="module")
def bundled_rows(good: list[dict]) -> dict[str, dict]:
    """The bundled-table rows the sample was generated from, by material_id."""
    ids = [r["material_id"] for r in good]
    table = read_table(bundled_path()).filter(pl.col("material_id").is_in(ids))
    return {row["material_id"]: row for row in table.iter_rows(named=True)}


def test_sample_shape(records: list[dict], good: list[dict]) -> None:
    assert len(records) == 8 and len(good) == 6
    assert sum(r["structure"] is None for r in records) == 1
    for r in good:
        assert r["nelements"] == len(r["elements"]) == 3
        assert set(r["symmetry"]) >= {"number", "symbol", "crystal_system"}
        assert r["nsites"] == len(r["structure"]["sites"])


def test_records_to_table(records: list[dict], good: list[dict], bundled_rows: dict[str, dict]) -> None:
    table, skipped = records_to_table(records)
    assert skipped == 2
    assert table.height == 6
    assert tuple(table.columns) == COLUMNS
    assert dict(table.schema) == SCHEMA
    assert table["material_id"].to_list() == [r["material_id"] for r in good]
    assert set(table["source"]) == {SOURCE}
    for row in table.iter_rows(named=True):
        src = bundled_rows[row["material_id"]]
        assert row["pretty_formula"] == src["pretty_formula"]
        assert row["formation_energy_per_atom"] == src["formation_energy_per_atom"]
        assert row["band_gap"] == src["band_gap"]
        assert row["e_above_hull"] == src["e_above_hull"]
        assert row["spacegroup.number"] == src["spacegroup.number"]
        assert row["elements"] == src["elements"]
        assert row["cif"].startswith("# generated using pymatgen")


@pytest.mark.parametrize("name", ["mp.csv.gz", "mp.parquet", "mp.csv"])
def test_round_trip_through_dataset(tmp_path: Path, records: list[dict], good: list[dict], name: str) -> None:
    table, _ = records_to_table(records)
    path = tmp_path / "sub" / name
    write_table(table, path)
    assert [p.name for p in path.parent.iterdir()] == [name]  # no temp file left behind
    assert read_table(path).equals(table)

    ds = Dataset.from_file(path)
    assert len(ds) == 6 and ds.skipped == 0
    assert ds.table["n_elements"].to_list() == [3] * 6
    assert ds.table["n_sites"].to_list() == [r["nsites"] for r in good]
    assert len(ds.filter(n_elements=3, max_sites=40, max_e_above_hull=0.08)) == 6

    matcher = StructureMatcher()
    for i, record in enumerate(good):
        original = Structure.from_dict(record["structure"])
        back = ds.structure(i)
        # CIF stores lattice parameters, not the matrix: compare parameters, species and fractional coords.
        assert np.allclose(back.lattice.abc, original.lattice.abc, atol=1e-6)
        assert np.allclose(back.lattice.angles, original.lattice.angles, atol=1e-5)
        assert [s.symbol for s in back.species] == [s.symbol for s in original.species]
        delta = back.frac_coords - original.frac_coords
        assert np.allclose(delta - np.round(delta), 0, atol=1e-6)
        assert matcher.fit(back, original)


def test_gzip_output_is_deterministic(tmp_path: Path, records: list[dict]) -> None:
    table, _ = records_to_table(records)
    write_table(table, tmp_path / "a.csv.gz")
    write_table(table, tmp_path / "b.csv.gz")
    assert (tmp_path / "a.csv.gz").read_bytes() == (tmp_path / "b.csv.gz").read_bytes()


def test_write_table_rejects_unknown_suffix(tmp_path: Path, records: list[dict]) -> None:
    table, _ = records_to_table(records)
    with pytest.raises(UserError, match="csv.gz"):
        write_table(table, tmp_path / "out.json")
    assert list(tmp_path.iterdir()) == []


def test_structure_objects(records: list[dict], good: list[dict]) -> None:
    """Records carrying a pymatgen Structure instead of its dict convert the same."""
    expected, _ = records_to_table(records)
    with_objects = [{**r, "structure": Structure.from_dict(r["structure"])} for r in good]
    table, skipped = records_to_table(with_objects)
    assert skipped == 0 and table.equals(expected)


def test_summary_doc_objects(records: list[dict], good: list[dict]) -> None:
    """mp-api SummaryDoc objects (what search() returns) convert like their dicts; the sample validates as SummaryDoc."""
    import emmet.core.summary as summary  # importing emmet takes ~7 s
    expected, _ = records_to_table(records)
    docs = [summary.SummaryDoc.model_validate(r) for r in good]
    table, skipped = records_to_table(docs)
    assert skipped == 0 and table.equals(expected)


def test_unusable_structures_are_skipped(good: list[dict]) -> None:
    base = good[0]
    nan_lattice = copy.deepcopy(base)
    nan_lattice["structure"]["lattice"]["matrix"][0][0] = float("nan")
    flat = copy.deepcopy(base)
    flat["structure"]["lattice"]["matrix"][2] = [0.0, 0.0, 0.0]
    wrong_shape = copy.deepcopy(base)
    wrong_shape["structure"]["lattice"]["matrix"] = [[1.0, 0.0], [0.0, 1.0]]
    no_sites = {**base, "structure": Structure(Lattice.cubic(3.0), [], []).as_dict()}
    garbage = {**base, "structure": {"lattice": "cubic"}}
    missing_key = {k: v for k, v in base.items() if k != "structure"}
    table, skipped = records_to_table([nan_lattice, flat, wrong_shape, no_sites, garbage, missing_key, base])
    assert skipped == 6
    assert table["material_id"].to_list() == [base["material_id"]]


def test_minimal_record_fills_from_structure() -> None:
    structure = Structure(Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    table, skipped = records_to_table([{"structure": structure.as_dict(), "band_gap": float("nan")}])
    assert skipped == 0
    row = table.row(0, named=True)
    assert row["pretty_formula"] == "NaCl"
    assert row["elements"] == "['Cl', 'Na']"
    assert row["material_id"] is None and row["band_gap"] is None and row["spacegroup.number"] is None


def test_empty_input() -> None:
    table, skipped = records_to_table([])
    assert skipped == 0 and table.height == 0 and dict(table.schema) == SCHEMA


# ---- fetch_mp with a fake mp-api -----------------------------------------------------------------


class _FakeMPRestError(Exception):
    pass


def _install_fake_mp_api(monkeypatch: pytest.MonkeyPatch, docs=None, error: Exception | None = None) -> dict:
    """Put a fake ``mp_api.client`` in sys.modules; returns a dict that collects the calls."""
    calls: dict = {}

    class FakeSummary:
        def search(self, **kwargs):
            calls["search"] = kwargs
            if error is not None:
                raise error
            return docs

    class FakeMPRester:
        def __init__(self, api_key=None, **kwargs):
            calls["api_key"] = api_key
            self.materials = types.SimpleNamespace(summary=FakeSummary())

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            calls["closed"] = True
            return False

    modules = {name: types.ModuleType(name) for name in ("mp_api", "mp_api.client", "mp_api.client.core", "mp_api.client.core.exceptions")}
    modules["mp_api.client"].MPRester = FakeMPRester
    modules["mp_api.client.core.exceptions"].MPRestError = _FakeMPRestError
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    return calls


def test_fetch_mp_with_fake_client(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, records: list[dict]) -> None:
    monkeypatch.setenv("MP_API_KEY", FAKE_KEY)
    calls = _install_fake_mp_api(monkeypatch, docs=list(reversed(records)))
    out = tmp_path / "mp_ternary.csv.gz"
    result = fetch_mp_command(out)
    assert calls["api_key"] == FAKE_KEY and calls["closed"]
    query = calls["search"]
    assert query["num_elements"] == 3
    assert query["num_sites"] == (1, 40)
    assert query["energy_above_hull"] == (0.0, 0.08)
    assert query["deprecated"] is False and query["include_gnome"] is False
    assert set(query["fields"]) == set(FIELDS)
    assert (result.path, result.rows, result.skipped) == (out, 6, 2)

    ds = Dataset.from_file(out)
    assert len(ds) == 6 and ds.skipped == 0 and ds.digest == result.digest
    assert ds.table["material_id"].to_list() == sorted(r["material_id"] for r in records if _buildable(r))


def test_fetch_mp_query_uses_real_search_arguments(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every keyword fetch_mp passes is a parameter of the installed mp-api's summary search."""
    from mp_api.client.routes.materials.summary import SummaryRester

    params = inspect.signature(SummaryRester.search).parameters
    calls = _install_fake_mp_api(monkeypatch, docs=[])
    fetch_mp(tmp_path / "x.parquet", api_key=FAKE_KEY, num_elements=(2, 4), max_sites=20)
    assert set(calls["search"]) <= set(params)
    assert calls["search"]["num_elements"] == (2, 4) and calls["search"]["num_sites"] == (1, 20)


def test_fetch_mp_any_element_count(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls = _install_fake_mp_api(monkeypatch, docs=[])
    result = fetch_mp(tmp_path / "x.parquet", api_key=FAKE_KEY, num_elements=None)
    assert "num_elements" not in calls["search"]
    assert result.rows == 0 and Dataset.from_file(result.path).skipped == 0


def test_missing_api_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MP_API_KEY", raising=False)
    calls = _install_fake_mp_api(monkeypatch, docs=[])
    with pytest.raises(UserError, match="MP_API_KEY") as err:
        fetch_mp(tmp_path / "out.csv.gz")
    assert "\n" not in str(err.value)
    assert calls == {} and not (tmp_path / "out.csv.gz").exists()


def test_malformed_api_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MP_API_KEY", "too-short")
    with pytest.raises(UserError, match="32 characters"):
        fetch_mp(tmp_path / "out.csv.gz")


def test_mp_api_not_installed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "mp_api", None)
    monkeypatch.setitem(sys.modules, "mp_api.client", None)
    with pytest.raises(UserError, match=r"pip install 'crystalbench\[mp\]'"):
        fetch_mp(tmp_path / "out.csv.gz", api_key=FAKE_KEY)


@pytest.mark.parametrize("error", [_FakeMPRestError("REST query returned with error status code 401\nmore"), ConnectionError("offline")])
def test_query_failure_is_a_user_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, error: Exception) -> None:
    _install_fake_mp_api(monkeypatch, error=error)
    with pytest.raises(UserError, match="Materials Project query failed") as err:
        fetch_mp(tmp_path / "out.csv.gz", api_key=FAKE_KEY)
    assert "\n" not in str(err.value)
    assert list(tmp_path.iterdir()) == []
