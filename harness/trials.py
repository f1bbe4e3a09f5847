"""A sweep's cells as Ray Tune trials: the trainable, its resources, and one Tune run per attempt.

Each trial's config is the cell it runs (``cell_of`` reads it back), and Tune names the
trial and its directory by the cell id. Every attempt (a first run, each resume) is its
own Tune experiment under ``<run_dir>/tune/attempt-N``. The trainable function is
module-level, so a worker on any node imports it by name.

Two of Tune's defaults do not fit a sweep. Tune copies the driver's AWS credentials into
every trial's runtime environment, which Ray's runtime-env agent writes, in clear, to
``runtime_env_agent.log`` under Ray's session directory (readable by every user of the
machine under the default ``/tmp/ray``); trials get only the variables the sweep passes
(``PYTHONPATH``), and find credentials the way every node does: their own environment
(a local Ray's workers inherit the driver's) or an instance role. And on Ctrl-C Tune
suggests ``Tuner.restore(...)``; here the first Ctrl-C stops the trials through a Tune
stopper and the sweep says how to finish them (``crystalbench run --resume``), the second
stops at once.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict

import pyarrow.fs
from ray import tune
from ray.tune.execution import class_cache
from ray.tune.trainable.function_trainable import wrap_function

from crystalbench.harness.console import say
from crystalbench.harness.runner import TrialContext, run_cell
from crystalbench.harness.spec import Cell, Spec
from crystalbench.harness.storage import Location

SECRET_MARKERS = ("KEY", "SECRET", "TOKEN", "PASSWORD", "CREDENTIAL")
"""Environment variables whose names contain one of these are never copied into a trial's runtime environment."""


def run_trials(spec: Spec, todo: list[Cell], ctx: TrialContext, run_dir: Location,
               callbacks: list[tune.Callback]) -> bool:
    """Run ``todo`` as one Tune experiment, with the spec's resources, concurrency and retries.

    Returns whether the run was interrupted (Ctrl-C): trials then stop where they are.
    """
    resources = {"cpu": spec.cpu, "gpu": spec.gpu}
    trainable = tune.with_resources(_trial_class(ctx), resources)
    tune_dir = run_dir / "tune"
    attempt = len(tune_dir.glob("attempt-*")) + 1
    interrupt = Interrupt()
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
            stop=interrupt,
            verbose=0,
        ),
    )
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # Tune's newer console output ignores verbose=0
    _keep_secrets_from_trials()
    with interrupt.catching():
        tuner.fit()
    return interrupt.requested


def _keep_secrets_from_trials() -> None:
    """Stop Ray Tune copying the driver's credentials (``AWS_SECRET_ACCESS_KEY``, ...) into trials' runtime env.

    Tune reads the names to copy from ``ENV_VARS_TO_PROPAGATE`` when it creates the trial
    actors, and has no setting for it; the names that are not secrets stay.
    """
    class_cache.ENV_VARS_TO_PROPAGATE = {
        name for name in class_cache.ENV_VARS_TO_PROPAGATE if not any(m in name.upper() for m in SECRET_MARKERS)
    }


class Interrupt(tune.Stopper):
    """A Tune stopper that ends the experiment after the first Ctrl-C (SIGINT) in the driver.

    Tune's own SIGINT handler is turned off (``TUNE_DISABLE_SIGINT_HANDLER``) while this one
    is installed; a second Ctrl-C gets the previous handler, which stops the driver at once.
    """

    def __init__(self):
        self.requested = False
        self._previous = None

    def __call__(self, trial_id: str, result: dict) -> bool:
        return False

    def stop_all(self) -> bool:
        return self.requested

    def _handle(self, signum, frame) -> None:
        self.requested = True
        signal.signal(signal.SIGINT, self._previous)
        say("interrupted: stopping the trials (Ctrl-C again stops at once); "
            "`crystalbench run SPEC --resume` finishes the sweep")

    @contextmanager
    def catching(self) -> Iterator[None]:
        """A block in which SIGINT sets ``requested`` (signals reach the main thread only: elsewhere, nothing)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        self._previous = signal.signal(signal.SIGINT, self._handle)
        os.environ["TUNE_DISABLE_SIGINT_HANDLER"] = "1"
        try:
            yield
        finally:
            if signal.getsignal(signal.SIGINT) == self._handle:
                signal.signal(signal.SIGINT, self._previous)
            os.environ.pop("TUNE_DISABLE_SIGINT_HANDLER", None)


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
