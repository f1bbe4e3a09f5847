"""The ``crystalbench`` command: run, report, judge, regress, list, data.

User errors print one line (``crystalbench: error: ...``) and exit 2; a sweep
with failed trials, or a step that failed for another reason (its traceback kept in a
file), exits 1 after keeping everything it produced; an interrupted one (Ctrl-C) exits 130
and says how to finish it.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path

from crystalbench.harness.console import log_to_console
from crystalbench.harness.errors import UserError
from crystalbench.harness.remote import StepFailed

EXIT_INTERRUPTED = 130
"""What a shell reports for a command stopped by Ctrl-C (128 + SIGINT)."""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    log_to_console()
    try:
        return args.func(args)
    except UserError as exc:
        print(f"crystalbench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        resume = " `crystalbench run SPEC --resume` finishes the sweep." if args.command == "run" else ""
        print(f"crystalbench: interrupted.{resume}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except StepFailed as exc:
        print(f"crystalbench: error: {exc} (traceback in {exc.saved_to})", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crystalbench", description="Benchmark crystal-design optimisers.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a benchmark spec (seeds x methods x problems) on Ray")
    run.add_argument("spec", type=Path, help="spec YAML, e.g. configs/smoke.yaml")
    run.add_argument("--address", help="Ray cluster address (default: start a local Ray)")
    run.add_argument("--resume", action="store_true", help="finish only the cells not yet complete")
    run.add_argument("--run-dir", help="where results go, a path or a URI (default: the spec's storage.run_dir, "
                     "else runs/<suite>)")
    run.add_argument("--artifacts", help="artifact store, a path or a URI (default: the spec's storage.artifacts, "
                     "else CRYSTALBENCH_ARTIFACTS, else ~/.cache/crystalbench/artifacts)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.set_defaults(func=_run)

    report = sub.add_parser("report", help="aggregate a run directory into a leaderboard")
    report.add_argument("run_dir", help="run directory: a path or a URI (s3://bucket/prefix, gs://...)")
    report.add_argument("--out", type=Path, help="output directory (default: reports/<suite>)")
    report.set_defaults(func=_report)

    regress = sub.add_parser("regress", help="compare a run with the baseline; exit 1 on any regression")
    regress.add_argument("run_dir", help="run directory: a path or a URI")
    regress.add_argument("--baseline", type=Path, help="baseline JSON (default: reports/<suite>/baseline.json)")
    regress.add_argument("--update-baseline", action="store_true", help="accept this run as the new baseline")
    regress.set_defaults(func=_regress)

    judge = sub.add_parser("judge", help="judge a run's final structures by a costlier model (e.g. GPAW), "
                           "once per distinct structure; run again to finish an interrupted one")
    judge.add_argument("run_dir", help="run directory: a path or a URI")
    judge.add_argument("--judge", required=True, help="judge name, e.g. gpaw (csp26)")
    judge.add_argument("--address", help="Ray cluster address (default: start a local Ray)")
    judge.add_argument("--no-progress", action="store_true", help="no progress bar")
    judge.set_defaults(func=_judge)

    listing = sub.add_parser("list", help="list registered methods and tasks")
    listing.add_argument("--plugin", action="append", default=[], help="also import this module")
    listing.set_defaults(func=_list)

    data = sub.add_parser("data", help="inspect or fetch datasets")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    info = data_sub.add_parser("info", help="load a dataset file and summarise it")
    info.add_argument("path", nargs="?", type=Path, help="dataset file (default: the bundled MP-20 subset)")
    info.set_defaults(func=_data_info)
    fetch = data_sub.add_parser("fetch-mp", help="download the Crystal-LSBO query from Materials Project")
    fetch.add_argument("--out", type=Path, required=True, help="output file (.csv.gz or .parquet)")
    fetch.add_argument("--num-elements", type=int, default=3)
    fetch.add_argument("--max-sites", type=int, default=40)
    fetch.add_argument("--max-e-above-hull", type=float, default=0.08)
    fetch.set_defaults(func=_data_fetch_mp)
    return parser


def _run(args: argparse.Namespace) -> int:
    from crystalbench.harness.spec import load_spec
    from crystalbench.harness.sweep import run_sweep
    from crystalbench.harness.tracking import ui_link

    logging.getLogger("mlflow").setLevel(logging.WARNING)  # not "Creating initial MLflow database tables..."
    spec = load_spec(args.spec)
    if args.run_dir:
        spec = dataclasses.replace(spec, run_dir=args.run_dir)
    if args.artifacts:
        spec = dataclasses.replace(spec, artifacts=args.artifacts)
    outcome = run_sweep(spec, address=args.address, resume=args.resume, progress=not args.no_progress)
    print(f"run directory: {outcome.run_dir}")
    print(f"report: {outcome.report_dir}/leaderboard.md" if outcome.report_dir else "report: none (no trial ended)")
    print(f"trials: {len(outcome.complete)} complete, {len(outcome.failed)} failed, {len(outcome.not_run)} not run, "
          f"{len(outcome.skipped)} skipped")
    command, link = ui_link(outcome.tracking_uri, outcome.experiment_id)
    print(f"MLflow: {outcome.tracking_uri} (parent run {outcome.parent_run_id})")
    if command:
        print(f"  start the UI: {command}")
    print(f"  runs: {link}")
    for cell_id in outcome.failed:
        print(f"failed: {cell_id}: {outcome.errors.get(cell_id, 'no error recorded')}", file=sys.stderr)
    for cell_id, error in sorted(outcome.unjudged.items()):
        print(f"unjudged: {cell_id}: {error}", file=sys.stderr)
    if outcome.interrupted or outcome.not_run:
        print(f"{'interrupted: ' if outcome.interrupted else ''}{len(outcome.not_run)} trials did not run"
              f"{' and ' + str(len(outcome.failed)) + ' failed' if outcome.failed else ''}; "
              f"`crystalbench run {args.spec} --resume` runs them", file=sys.stderr)
    if outcome.interrupted:
        return EXIT_INTERRUPTED
    return 1 if outcome.failed or outcome.unjudged or outcome.not_run else 0


def _report(args: argparse.Namespace) -> int:
    from crystalbench.harness.report import suite_name, write_report

    _check_run_dir(args.run_dir)
    out = args.out or Path("reports") / suite_name(args.run_dir)
    paths = write_report(args.run_dir, out)
    print(f"report: {paths.out_dir}")
    return 0


def _judge(args: argparse.Namespace) -> int:
    import ray

    from crystalbench.harness.console import say
    from crystalbench.harness.judging import judge_run, judged_tasks
    from crystalbench.harness.lock import RunDirLock
    from crystalbench.harness.preflight import check_address
    from crystalbench.harness.run_state import check_readable
    from crystalbench.harness.storage import location
    from crystalbench.harness.sweep import init_ray, write_run_report

    _check_run_dir(args.run_dir)
    run_dir = location(args.run_dir, "run directory")
    if args.address not in (None, "local"):
        check_address(args.address)
    with RunDirLock(run_dir, say, "crystalbench judge"):
        check_readable(run_dir)
        tasks = judged_tasks(args.run_dir, args.judge)
        started = init_ray(args.address)
        try:
            outcome = judge_run(args.run_dir, args.judge, tasks, progress=not args.no_progress)
        finally:
            if started:
                ray.shutdown()
        report = write_run_report(run_dir)
    print(f"judge {outcome.judge}: {len(outcome.judged)} trials judged ({outcome.structures} distinct structures), "
          f"{outcome.already} judged before, {len(outcome.failed)} failed")
    for cell_id, error in sorted(outcome.failed.items()):
        print(f"failed: {cell_id}: {error}", file=sys.stderr)
    print(f"report: {report}/final.md")
    return 1 if outcome.failed else 0


def _regress(args: argparse.Namespace) -> int:
    from crystalbench.harness import regress
    from crystalbench.harness.report import suite_name

    _check_run_dir(args.run_dir)
    baseline = args.baseline or Path("reports") / suite_name(args.run_dir) / "baseline.json"
    if args.update_baseline:
        record = regress.write_baseline(args.run_dir, baseline)
        print(f"baseline {baseline}: {len(record['cells'])} cells from {args.run_dir}")
        return 0
    verdicts = regress.compare(regress.read_baseline(baseline), regress.summarise(args.run_dir))
    print(regress.format_table(verdicts))
    regressed = [v.cell for v in verdicts if v.regressed]
    print(f"{len(regressed)} of {len(verdicts)} cells regressed" + (f": {', '.join(regressed)}" if regressed else ""))
    return 1 if regressed else 0


def _check_run_dir(run_dir: str) -> None:
    from crystalbench.harness.storage import location

    if not location(run_dir, "run directory").exists():
        raise UserError(f"run directory not found: {run_dir}")


def _list(args: argparse.Namespace) -> int:
    from crystalbench.api import registry

    registry.load(args.plugin)
    print("tasks:")
    tasks = registry.task_names()
    for name in tasks:
        cls = registry.get_task(name)
        problems = cls().problem_names()
        print(f"  {name:<20} {len(problems)} problem(s), default budget {cls.default_budget}, "
              f"offers {', '.join(sorted(cls.offers)) or 'nothing'}")
    print("methods:")
    for name in registry.method_names():
        compatible = [t for t in tasks if registry.incompatibility(name, t) is None]
        print(f"  {name:<20} tasks: {', '.join(compatible) or 'none'}")
    return 0


def _data_info(args: argparse.Namespace) -> int:
    from crystalbench.harness.dataset import Dataset

    dataset = Dataset.from_file(args.path)
    counts = dataset.table["n_elements"].value_counts().sort("n_elements")
    print(f"crystals: {len(dataset)} (skipped {dataset.skipped} unparsable)")
    print(f"digest: {dataset.digest}")
    print("by element count: " + ", ".join(f"{n}: {c}" for n, c in counts.iter_rows()))
    return 0


def _data_fetch_mp(args: argparse.Namespace) -> int:
    from crystalbench.harness.mp_fetch import fetch_mp

    fetched = fetch_mp(args.out, num_elements=args.num_elements, max_sites=args.max_sites,
                       max_e_above_hull=args.max_e_above_hull)
    print(f"wrote {fetched.rows} crystals to {fetched.path} (skipped {fetched.skipped}); digest {fetched.digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
