"""The after-the-run path report (LCOM Fig. 2): the mean table and the plot, from a hand-made table."""

import numpy as np
import polars as pl
import pytest
from PIL import Image

from crystalbench.methods.lcom.path_energies import plot, step_means, summary


@pytest.fixture
def table() -> pl.DataFrame:
    rows = [("lcom", "MgO", 0, 0, -5.0, -6.0), ("lcom", "MgO", 1, 0, -5.2, -6.4),
            ("lcom", "MgO", 0, 5, -5.5, np.nan), ("lcom", "MgO", 1, 5, -5.7, -6.1),
            ("sl", "SrS", 0, 0, -4.0, -5.0), ("sl", "SrS", 0, 5, -9.0, -4.5)]
    return pl.DataFrame(rows, schema=["method", "problem", "seed", "step", "surrogate", "oracle"], orient="row")


def test_the_table_averages_over_seeds_and_skips_failed_decodes(table):
    lines = summary(step_means(table)).splitlines()
    assert "| MgO | lcom | 0 | -5.100 | -6.200 | 2 |" in lines
    assert "| MgO | lcom | 5 | -5.600 | -6.100 | 2 |" in lines, "the NaN oracle of seed 0 is left out of the mean"
    assert "| SrS | sl | 5 | -9.000 | -4.500 | 1 |" in lines


def test_the_plot_has_a_panel_per_problem(table, tmp_path):
    path = tmp_path / "path_energies.png"
    plot(step_means(table), path)
    width, height = Image.open(path).size
    assert width > 1.8 * height, "two panels side by side"
