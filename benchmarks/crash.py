"""The kill -9 check of durable state at length (target 5 of docs/benchmarks.md).

Run by hand, never in CI::

    python benchmarks/crash.py                 # 100 kills, full durability
    python benchmarks/crash.py --kills 20 --durability normal --seed 3

A CRM simulator process on a fresh state directory is killed with SIGKILL at random
(seeded) moments while clients stream creates and stage moves, and restarted on the
same folder each time; after every restart ``simulators.crash`` checks that every
acknowledged write is there at its version, nothing is half-written, event ids have
no gap or duplicate, ids never repeat and saved keys replay (docs/durability.md).
Results: ``benchmarks/results/crash.json`` and ``crash.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the checkout's packages, not this folder's scripts

from benchmarks.simulators import RESULTS, environment  # noqa: E402
from simulators.crash import run_crash_check  # noqa: E402


def markdown(res: dict[str, object]) -> str:
    report = res["report"]
    assert isinstance(report, dict)
    env = res["environment"]
    assert isinstance(env, dict)
    problems = report["problems"]
    verdict = "PASS" if not problems and report["kills"] >= 20 else "FAIL"
    lines = [
        "# kill -9 under load (docs/benchmarks.md target 5, durability)", "",
        f"{env['date']}, commit {env['git_commit']}, {env['cpu_model']}, nproc {env['nproc']}, "
        f"Python {env['python']}; durability {res['durability']}, seed {res['seed']}, "
        f"{res['workers']} concurrent clients.", "",
        "| kills | acknowledged writes | saved keys replayed | in-flight keys retried | "
        "objects at the end | events at the end | seconds | problems | result |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {report['kills']} | {report['acknowledged']:,} | {report['replays_checked']} | "
        f"{report['retried_in_flight']} | {report['objects']:,} | {report['events']:,} | "
        f"{report['seconds']} | {len(problems)} | {verdict} |", "",
        f"Command: `{env['command']}`", "",
    ]  # fmt: skip
    if problems:
        lines += ["Problems (first 50):", ""] + [f"- {p}" for p in problems[:50]] + [""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=8, help="Concurrent clients.")
    parser.add_argument("--durability", choices=("full", "normal"), default="full")
    parser.add_argument("--port", type=int, default=None, help="The simulator's port (a free one).")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="golive-crash-"))
    try:
        report = run_crash_check(
            folder, kills=args.kills, seed=args.seed, workers=args.workers,
            durability=args.durability, port=args.port,
        )  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    res: dict[str, object] = {
        "environment": environment(shutil.which("wrk")),
        "durability": args.durability, "seed": args.seed, "workers": args.workers,
        "report": dataclasses.asdict(report),
    }  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "crash.json").write_text(json.dumps(res, indent=2) + "\n")
    text = markdown(res)
    (RESULTS / "crash.md").write_text(text)
    print(text)
    return 0 if not report.problems else 1


if __name__ == "__main__":
    sys.exit(main())
