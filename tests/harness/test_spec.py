"""Spec validation: every user mistake is one clear UserError line; good specs give the right grid."""

from pathlib import Path

import pytest

from crystalbench.harness.errors import UserError
from crystalbench.harness.spec import load_spec, parse_spec

REPO = Path(__file__).resolve().parents[2]

GOOD = {
    "suite": "t",
    "seeds": 2,
    "methods": ["database"],
    "tasks": [{"name": "electronegativity", "budget": 5}, {"name": "formation_energy", "budget": 7}],
}


def spec_with(**changes):
    return parse_spec({**GOOD, **changes})


def test_grid_is_tasks_times_problems_times_methods_times_seeds():
    spec = parse_spec(GOOD)
    cells, skipped = spec.grid()
    assert skipped == []
    assert [c.cell_id for c in cells] == [
        "electronegativity.electronegativity.database.s0",
        "electronegativity.electronegativity.database.s1",
        "formation_energy.formation_energy.database.s0",
        "formation_energy.formation_energy.database.s1",
    ]
    assert [c.budget for c in cells] == [5, 5, 7, 7]


def test_default_budget_is_the_papers_1000():
    spec = spec_with(tasks=["electronegativity"])
    assert {c.budget for c in spec.grid()[0]} == {1000}


def test_spec_hash_ignores_where_results_go_but_not_what_runs():
    a = spec_with(storage={"run_dir": "/tmp/a"}, tracking={"uri": "http://127.0.0.1:1"})
    b = spec_with(storage={"run_dir": "/tmp/b"})
    assert a.spec_hash == b.spec_hash
    assert spec_with(seeds=3).spec_hash != a.spec_hash


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"methods": ["no_such_method"]}, "unknown method 'no_such_method'"),
        ({"tasks": ["no_such_task"]}, "unknown task 'no_such_task'"),
        ({"tasks": [{"name": "electronegativity", "budget": -5}]}, "budget must be a positive integer"),
        ({"tasks": [{"name": "electronegativity", "budget": 0}]}, "budget must be a positive integer"),
        ({"tasks": [{"name": "electronegativity", "batch_size": 1.5}]}, "batch_size must be a positive integer"),
        ({"tasks": [{"name": "electronegativity", "problems": ["MgO"]}]}, "unknown ['MgO']"),
        ({"seeds": 0}, "seeds"),
        ({"seeds": [1, 1]}, "distinct"),
        ({"methods": []}, "'methods' must be a non-empty list"),
        ({"methods": [{"name": "database", "params": {"lr": 1}}]}, "unknown parameter 'lr'"),
        ({"methods": ["database", "database"]}, "appears twice"),
        ({"tasks": [{"name": "electronegativity", "params": {"n_initial": 0}}]}, "n_initial must be positive"),
        ({"tasks": [{"name": "formation_energy", "params": {"n_initial": 2.5}}]},
         "tasks[0].params.n_initial: input should be a valid integer, got 2.5"),
        ({"tasks": [{"name": "formation_energy", "params": {"n_initial": "abc"}}]},
         "tasks[0].params.n_initial: input should be a valid integer, got 'abc'"),
        ({"tasks": [{"name": "csp26", "params": {"relax_fmax": True}}]},
         "tasks[0].params.relax_fmax: input should be a valid number, got True"),
        ({"colour": "blue"}, "unknown key 'colour'"),
        ({"suite": "has space"}, "'suite' must be a name"),
        ({"resources": {"cpu": -1}}, "resources.cpu must be a number >= 0.0"),
        ({"dataset": "/nonexistent/data.csv"}, "dataset file not found"),
        ({"plugins": ["no.such.module"]}, "cannot import plugin module"),
    ],
)
def test_bad_specs_raise_one_line(changes, message):
    with pytest.raises(UserError) as info:
        spec_with(**changes)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_malformed_yaml_names_the_line(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text("suite: x\nmethods: [database\ntasks: []\n")
    with pytest.raises(UserError, match=r"malformed YAML at line \d+"):
        load_spec(path)


def test_missing_spec_file(tmp_path: Path):
    with pytest.raises(UserError, match="spec file not found"):
        load_spec(tmp_path / "nope.yaml")


def test_spec_must_be_a_mapping(tmp_path: Path):
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(UserError, match="a spec is a YAML mapping"):
        load_spec(path)


def test_incompatible_cells_are_skipped_naming_the_missing_capability():
    spec = parse_spec({**GOOD, "plugins": ["tests.plugins.methods"], "methods": ["database", "fixed_composition_only"],
                       "tasks": ["electronegativity", {"name": "csp26", "problems": ["NaCl"]}]})
    cells, skipped = spec.grid()
    assert [(s.method_label, s.task) for s in skipped] == [("fixed_composition_only", "electronegativity")]
    assert skipped[0].reason == ("fixed_composition_only requires fixed_composition, which electronegativity "
                                 "does not offer")
    assert [(c.problem, c.seed) for c in cells if c.method == "fixed_composition_only"] == [("NaCl", 0), ("NaCl", 1)]


SHIPPED_CONFIGS = sorted([*(REPO / "configs").glob("*.yaml"), *(REPO / "examples").glob("*/configs/*.yaml")])


@pytest.mark.parametrize("config", SHIPPED_CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_is_a_valid_spec(config):
    cells, _ = load_spec(config).grid()
    assert cells


def test_spec_hash_is_stable_across_releases():
    """Pinned: the hash of a spec that sets no later-added field (dataset_filter) is the one the first release
    computed, so its old run directories still resume. Changing it orphans every existing run."""
    assert parse_spec(GOOD).spec_hash == "6ceb63b5aff787b75ea3341499ddda8437d0de9d0aa49e1e5fa7e9e757ae747e"
    assert spec_with(dataset_filter={}).spec_hash == parse_spec(GOOD).spec_hash


def test_dataset_filter_is_normalised_and_part_of_the_spec_hash():
    spec = spec_with(dataset_filter={"n_elements": 3, "max_sites": 20})
    assert spec.dataset_filter == {"n_elements": [3], "max_sites": 20}
    assert spec.spec_hash != parse_spec(GOOD).spec_hash
    assert parse_spec(GOOD).dataset_filter == {}


@pytest.mark.parametrize(
    "value, message",
    [
        ({"elements": 3}, "unknown key"),
        ({"n_elements": 0}, "dataset_filter.n_elements must be a positive integer"),
        ({"n_elements": []}, "dataset_filter.n_elements must not be empty"),
        ({"max_e_above_hull": -1}, "dataset_filter.max_e_above_hull"),
        ("ternary", "'dataset_filter' must be a mapping"),
    ],
)
def test_bad_dataset_filter_is_one_clear_error(value, message):
    with pytest.raises(UserError, match=message):
        spec_with(dataset_filter=value)
