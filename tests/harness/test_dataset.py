"""harness.dataset on small synthetic tables cut from the bundled MP-20 subset (no full 2,485-CIF parse)."""

from __future__ import annotations

import ast
from pathlib import Path

import polars as pl
import pytest

from crystalbench.harness.crystal import from_cif
from crystalbench.harness.dataset import COLUMNS, Dataset, bundled_path, file_digest, read_table
from crystalbench.harness.errors import UserError


def _n_elements(row: dict) -> int:
    return len(ast.literal_eval(row["elements"]))


@pytest.fixture(scope="module")
def bundled_table() -> pl.DataFrame:
    return read_table(bundled_path())


@pytest.fixture(scope="module")
def small_table(bundled_table: pl.DataFrame) -> pl.DataFrame:
    """10 real rows: 4 ternaries, 3 binaries, 2 quaternaries, 1 unary, in file order."""
    wanted = {1: 1, 2: 3, 3: 4, 4: 2}
    picked = []
    for i, row in enumerate(bundled_table.iter_rows(named=True)):
        n = _n_elements(row)
        if wanted.get(n, 0) > 0:
            wanted[n] -= 1
            picked.append(i)
        if not any(wanted.values()):
            break
    return bundled_table[picked]


@pytest.fixture()
def small_csv(tmp_path: Path, small_table: pl.DataFrame) -> Path:
    path = tmp_path / "small.csv"
    small_table.write_csv(path)
    return path


@pytest.fixture()
def corrupt_csv(tmp_path: Path, small_table: pl.DataFrame) -> Path:
    """The small table plus one row of garbage CIF text and one with an empty CIF."""
    bad = small_table.head(2).with_columns(
        pl.Series("material_id", ["mp-garbage", "mp-empty"]),
        pl.Series("cif", ["data_nothing\nthis is not a CIF at all ][ 1 2 3\n", ""]),
    )
    path = tmp_path / "corrupt.csv.gz"
    pl.concat([small_table[:3], bad[:1], small_table[3:], bad[1:]]).write_csv(path, compression="gzip")
    return path


def test_from_file_parses_all_rows(small_csv: Path, small_table: pl.DataFrame) -> None:
    ds = Dataset.from_file(small_csv)
    assert len(ds) == small_table.height
    assert ds.skipped == 0
    assert ds.digest == file_digest(small_csv)
    assert ds.table.columns == [*COLUMNS, "n_sites", "n_elements"]
    for i, row in enumerate(ds.table.iter_rows(named=True)):
        structure = from_cif(row["cif"])
        assert row["n_sites"] == len(structure)
        assert row["n_elements"] == len(structure.composition.elements) == _n_elements(row)
        assert ds.structure(i) == structure
    assert len(ds.structures([0, 2])) == 2


def test_from_file_skips_corrupt_and_empty_cif(corrupt_csv: Path, small_table: pl.DataFrame) -> None:
    ds = Dataset.from_file(corrupt_csv)
    assert ds.skipped == 2
    assert len(ds) == small_table.height
    assert ds.table["material_id"].to_list() == small_table["material_id"].to_list()
    assert ds.table["n_sites"].null_count() == 0


def test_filter_n_elements(small_csv: Path) -> None:
    ds = Dataset.from_file(small_csv)
    ternary = ds.filter(n_elements=3)
    assert len(ternary) == 4
    assert set(ternary.table["n_elements"]) == {3}
    assert all(_n_elements(row) == 3 for row in ternary.table.iter_rows(named=True))
    assert len(ds.filter(n_elements=[2, 3])) == 7
    assert ternary.digest != ds.digest
    assert ternary.digest == ds.filter(n_elements=3).digest
    assert ternary.digest != ds.filter(n_elements=[3, 4]).digest
    assert ds.filter() is ds


def test_filter_max_sites_and_e_above_hull(small_csv: Path) -> None:
    ds = Dataset.from_file(small_csv)
    sites = sorted(ds.table["n_sites"].to_list())
    cap = sites[len(sites) // 2]
    small = ds.filter(max_sites=cap)
    assert len(small) == sum(s <= cap for s in sites)
    assert small.table["n_sites"].max() <= cap

    e_hull = ds.table["e_above_hull"].to_list()
    cap_e = sorted(set(e_hull))[1]  # a value present in the table: the cap is strict
    stable = ds.filter(max_e_above_hull=cap_e)
    assert len(stable) == sum(e < cap_e for e in e_hull)
    assert stable.table["e_above_hull"].max() < cap_e

    both = ds.filter(n_elements=3, max_sites=cap, max_e_above_hull=0.08)
    assert all(
        r["n_elements"] == 3 and r["n_sites"] <= cap and r["e_above_hull"] < 0.08
        for r in both.table.iter_rows(named=True)
    )
    assert len({ds.digest, small.digest, stable.digest, both.digest}) == 4


def test_save_load_round_trip(corrupt_csv: Path, tmp_path: Path) -> None:
    ds = Dataset.from_file(corrupt_csv).filter(n_elements=[2, 3])
    out = tmp_path / "prepared" / "dataset.parquet"
    out.parent.mkdir()
    ds.save(out)
    back = Dataset.load(out)
    assert back.digest == ds.digest
    assert back.skipped == ds.skipped == 2
    assert back.table.equals(ds.table)
    assert back.structure(0) == ds.structure(0)


def test_read_table_parquet_equals_csv(small_csv: Path, small_table: pl.DataFrame, tmp_path: Path) -> None:
    parquet = tmp_path / "small.parquet"
    small_table.write_parquet(parquet)
    assert read_table(parquet).equals(read_table(small_csv))
    assert read_table(small_csv).schema["spacegroup.number"] == pl.Int64
    assert read_table(small_csv).schema["band_gap"] == pl.Float64


def test_read_table_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not found"):
        read_table(tmp_path / "nope.csv.gz")


def test_read_table_missing_columns(tmp_path: Path, small_table: pl.DataFrame) -> None:
    path = tmp_path / "partial.csv"
    small_table.drop("cif", "band_gap").write_csv(path)
    with pytest.raises(UserError, match="lacks columns") as err:
        read_table(path)
    assert "cif" in str(err.value) and "band_gap" in str(err.value)
    with pytest.raises(UserError):
        Dataset.from_file(path)


def test_read_table_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"not parquet")
    with pytest.raises(UserError, match="cannot read"):
        read_table(path)


def test_bundled_file_matches_provenance(bundled_table: pl.DataFrame) -> None:
    """The bundled table has the documented size and sources, and PROVENANCE.md records its sha256."""
    assert bundled_table.height == 2485
    assert bundled_table["material_id"].n_unique() == 2485
    assert set(bundled_table["source"]) == {"MP-20"}
    provenance = (bundled_path().parent / "PROVENANCE.md").read_text()
    assert file_digest(bundled_path()) in provenance


def test_bundled_dataset_counts(bundled_dataset) -> None:
    """Element-count histogram of the fully parsed bundled set."""
    ds = bundled_dataset
    assert len(ds) == 2485 and ds.skipped == 0
    counts = dict(ds.table.group_by("n_elements").len().iter_rows())
    assert [counts.get(n, 0) for n in (1, 2, 3, 4)] == [27, 496, 1446, 460]
    assert counts.get(5, 0) + counts.get(6, 0) == 56
    assert ds.table["n_sites"].max() <= 20
    assert ds.table["e_above_hull"].max() < 0.08
