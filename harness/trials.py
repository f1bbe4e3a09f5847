"""A sweep's cells as Ray Tune trials: the trainable, its resources, and one Tune run per attempt.

Each trial's config is the cell it runs (``cell_of`` reads it back), and Tune names the
trial and its directory by the cell id. Every attempt (a first run, each resume) is its
own Tune experiment under ``<run_dir>/tune/attempt-N``. The trainable function is
module-level, so a worker on any node imports it by name.
"""

from __future__ import annotations

import os
import signal
from dataclasses import asdict

import pyarrow.fs
from ray import tune
from ray.tune.trainable.function_trainable import wrap_function

from crystalbench.harness.runner import TrialContext, run_cell
from crystalbench.harness.spec import Cell, Spec
from crystalbench.harness.storage import Location


def run_trials(spec: Spec, todo: list[Cell], ctx: TrialContext, run_dir: Location,
               callbacks: list[tune.Callback]) -> None:
    """Run ``todo`` as one Tune experiment, with the spec's resources, concurrency and retries."""
    resources = {"cpu": spec.cpu, "gpu": spec.gpu}
    trainable = tune.with_resources(_trial_class(ctx), resources)
    tune_dir = run_dir / "tune"
    attempt = len(tune_dir.glob("attempt-*")) + 1
    tuner = tune.Tuner(
        trainable,
        param_space={"cell": tune.grid_search([asdict(c) for c in todo])},
        tune_config=tune.TuneConfig(
            max_concurrent_trials=spec.max_concurrent_trials,
            trial_name_creator=lambda t: cell_of(t).cell_id,
            trial_dirname_creator=lambda t: cell_of(t).cell_id,
        ),
        run_config=tune.RunConfig(
            name=f"attempt-{attempt}",
            storage_path=tune_dir.path,
            storage_filesystem=pyarrow.fs.PyFileSystem(pyarrow.fs.FSSpecHandler(tune_dir.fs)),
            failure_config=tune.FailureConfig(max_failures=spec.max_retries),
            callbacks=callbacks,
            verbose=0,
        ),
    )
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # Tune's newer console output ignores verbose=0
    tuner.fit()


def cell_of(trial: tune.experiment.Trial) -> Cell:
    return Cell(**trial.config["cell"])


def _trainable(config: dict, ctx: TrialContext) -> None:
    run_cell(Cell(**config["cell"]), ctx, report=tune.report)


def _trial_class(ctx: TrialContext) -> type:
    """The Tune trainable of a sweep's trials: ``_trainable`` over ``ctx``, ending quietly.

    When a trial's actor exits, the raylet sends its process SIGTERM (then SIGKILL
    200 ms later). Ray's worker turns SIGTERM into ``SystemExit`` raised wherever the main
    thread is, and a worker still tearing down torch or xgboost objects then prints a
    traceback from inside a garbage-collector callback, though the trial completed.
    ``cleanup`` runs on the actor's main thread after the trial has reported everything,
    so it restores SIGTERM's default action there: the process ends silently, as the
    raylet asks. Errors of the trial itself are reported before this point.
    """

    class CellTrial(wrap_function(tune.with_parameters(_trainable, ctx=ctx))):
        def cleanup(self) -> None:
            try:
                super().cleanup()
            finally:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)

    return CellTrial
