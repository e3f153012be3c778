"""``golive data generate|stats|load``: synthetic lifecycle data for simulators, staging and tests.

Only cheap imports at the top: Faker and the generator load inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from golive.errors import UsageProblem

__all__ = ["register"]

data_app = typer.Typer(
    help="Synthetic lifecycle data: generate, inspect, load into simulators.\n\n"
    "Example: golive data generate --accounts 1000 --seed 7 --out data/",
    no_args_is_help=True,
)


@data_app.command("generate")
def generate(
    accounts: int = typer.Option(..., "--accounts", min=1, help="Number of CRM accounts."),
    seed: int = typer.Option(0, "--seed", help="Same seed and options, same bytes."),
    out: Path = typer.Option(..., "--out", help="Folder to write (created if missing)."),
    fmt: str = typer.Option("ndjson", "--format", help="ndjson or csv."),
    years: int = typer.Option(3, "--years", min=1, max=20, help="Years of history before --as-of."),
    locale: str = typer.Option("en_US", "--locale", help="Faker locale(s), comma-separated."),
    as_of: str = typer.Option("2026-11-01", "--as-of", help="The generated world's 'now'."),
    events: bool = typer.Option(False, "--events", help="Also write events.ndjson."),
    duplicate_rate: float = typer.Option(
        0.0, "--duplicate-rate", help="Events sent twice (0-0.5)."
    ),
    reorder_rate: float = typer.Option(0.0, "--reorder-rate", help="Events held back (0-0.5)."),
) -> None:
    """Write every object type of the five systems for N accounts, plus manifest.json.

    Example: golive data generate --accounts 500 --seed 7 --out data/ --events --duplicate-rate 0.02
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from golive.render import console, table
    from lifecycle.synth import SynthParams
    from lifecycle.synth import generate as run

    if fmt not in ("ndjson", "csv"):
        raise UsageProblem(f"--format must be ndjson or csv, not {fmt!r}")
    if (duplicate_rate or reorder_rate) and not events:
        raise UsageProblem("--duplicate-rate and --reorder-rate need --events")
    locales = tuple(x.strip() for x in locale.split(",") if x.strip())
    params = SynthParams(
        accounts=accounts, seed=seed, years=years, locales=locales, as_of=as_of, fmt=fmt,
        events=events, duplicate_rate=duplicate_rate, reorder_rate=reorder_rate,
    )  # fmt: skip
    try:
        params.check()
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
    try:
        import faker.config

        unknown = [loc for loc in locales if loc not in faker.config.AVAILABLE_LOCALES]
    except ImportError:  # pragma: no cover
        unknown = []
    if unknown or not locales:
        raise UsageProblem(f"--locale: unknown Faker locale(s) {unknown or [locale]}")
    _writable_folder(out)
    previous = _previous_files(out)
    columns = (BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*Progress.get_default_columns()[:1], *columns, console=console,
                  transient=True) as bar:  # fmt: skip
        task = bar.add_task("generating accounts", total=accounts)
        try:
            manifest = run(params, out, lambda done, _records: bar.update(task, completed=done))
        except OSError as exc:  # the disk filled up, the folder went away, ...
            where = f" {exc.filename}" if exc.filename else ""
            raise UsageProblem(f"--out {out}: cannot write{where}: {exc.strerror or exc}") from None
    for name in sorted(previous - set(manifest["files"])):  # stale: golive wrote it before
        (out / name).unlink(missing_ok=True)
    counts = manifest["counts"]
    table(f"Generated into {out}", ["object type", "records"], sorted(counts.items()))
    console.print(f"{manifest['total_records']} records, seed {seed}, manifest {out}/manifest.json")


def _writable_folder(out: Path) -> None:
    """``out`` exists as a folder (created if missing), or a one-line UsageProblem."""
    if out.exists() and not out.is_dir():
        raise UsageProblem(f"--out {out} is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageProblem(
            f"--out {out}: cannot create the folder: {exc.strerror or exc}"
        ) from None


def _previous_files(out: Path) -> set[str]:
    """Files an earlier ``data generate`` wrote into ``out`` (its manifest lists them).

    An empty folder has none. A non-empty folder without a readable manifest is refused:
    golive does not write over, nor mix its files with, files it did not write.
    """
    from lifecycle.synth.folder import MANIFEST, FolderProblem, read_manifest

    if not any(out.iterdir()):
        return set()
    try:
        files = read_manifest(out)["files"]
    except FolderProblem:
        raise UsageProblem(
            f"--out {out} is not empty and has no {MANIFEST} of `golive data generate`: "
            "choose a new or empty folder"
        ) from None
    return {name for name in files if Path(name).name == name and name != MANIFEST}


@data_app.command("stats")
def stats(folder: Path = typer.Argument(..., help="A folder written by `data generate`.")) -> None:
    """Counts and a few distributions of a generated folder.

    Example: golive data stats data/
    """
    from golive.dataload import check_folder
    from golive.render import console, table

    manifest = check_folder(folder)
    table("Records", ["object type", "records"], sorted(manifest["counts"].items()))
    for title, columns, rows in _distributions(folder):
        table(title, columns, rows)
    window = manifest["window"]
    console.print(
        f"seed {manifest['seed']}, generator {manifest['generator_version']}, "
        f"window {window['from']} .. {window['as_of']}"
    )


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _share(counter: dict[str, int]) -> list[tuple[str, int, str]]:
    total = sum(counter.values()) or 1
    return [(k, v, f"{100 * v / total:.1f} %") for k, v in sorted(counter.items())]


def _distributions(folder: Path) -> list[tuple[str, list[str], list[Any]]]:
    from collections import Counter
    from datetime import date, timedelta

    from golive.dataload import iter_objects

    segments = Counter(a["segment"] for a in iter_objects(folder, "account"))
    stages: Counter[str] = Counter()
    close_days: Counter[str] = Counter()
    weekdays: Counter[str] = Counter()
    for o in iter_objects(folder, "opportunity"):
        stages[o["stage"]] += 1
        if o["stage"] == "closed_won" and o["close_date"]:
            d = date.fromisoformat(o["close_date"])
            last = (d.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
            bucket = "last 3 days of month" if (last - d).days < 3 else "rest of month"
            close_days[bucket + (" (quarter end)" if d.month % 3 == 0 else "")] += 1
            weekdays[f"{d.isoweekday()} {_WEEKDAYS[d.weekday()]}"] += 1  # local close dates
    won, lost = stages["closed_won"], stages["closed_lost"]
    subs = Counter(s["status"] for s in iter_objects(folder, "subscription"))
    invoices = Counter(i["status"] for i in iter_objects(folder, "invoice"))
    cases = Counter(
        "breached" if c["sla_breached"] else "met" for c in iter_objects(folder, "case")
    )
    return [
        ("Accounts by segment", ["segment", "accounts", "share"], _share(segments)),
        (f"Opportunities by stage (win rate {100 * won / max(1, won + lost):.1f} %)",
         ["stage", "count", "share"], _share(stages)),
        ("Won deals by close day (hockey stick)", ["when", "count", "share"], _share(close_days)),
        ("Won deals by weekday", ["weekday", "count", "share"], _share(weekdays)),
        ("Subscriptions by status", ["status", "count", "share"], _share(subs)),
        ("Invoices by status", ["status", "count", "share"], _share(invoices)),
        ("Case SLA outcomes", ["outcome", "count", "share"], _share(cases)),
    ]  # fmt: skip


@data_app.command("load")
def load(
    folder: Path = typer.Argument(..., help="A folder written by `data generate`."),
    target: str = typer.Option("local", "--target", help="A target of golive.toml."),
    base_port: int | None = typer.Option(
        None,
        "--base-port",
        min=1,
        max=65531,
        help="Port of the first simulator (as given to `golive up --base-port`).",
    ),
    clock: str = typer.Option(
        "follow",
        "--clock",
        help="follow: move the simulators' clock forward to the data's as_of; "
        "keep: never move it; strict: refuse to load when they disagree.",
    ),
    batch_size: int = typer.Option(500, "--batch-size", min=1, max=10_000, help="Objects a POST."),
) -> None:
    """Seed running simulators (a target of golive.toml) through POST /_sim/seed.

    The simulators judge SLA timers, due dates and renewals against their clock; the
    data was generated as of its --as-of. A later as_of moves their clock forward
    first; an earlier one is loaded with a warning of what the later clock means.

    Example: golive up --base-port 9500 &  golive data load data/ --base-port 9500
    """
    from rich.progress import Progress

    from golive.config import load_config
    from golive.dataload import (
        CLOCK_POLICIES,
        align_clock,
        check_folder,
        count_objects,
        load_folder,
    )
    from golive.render import console, err_console, table

    if clock not in CLOCK_POLICIES:
        raise UsageProblem(f"--clock must be one of {', '.join(CLOCK_POLICIES)}, not {clock!r}")
    manifest = check_folder(folder)  # before anything is sent: never half a folder
    cfg = load_config()
    targets = cfg.target(target, base_port)
    check = align_clock(folder, targets, clock, owned=cfg.target_owned(target))
    if check.moved:
        console.print(f"moved the simulators' clock from {check.clock} to {check.as_of} "
                      "(the data's as_of)")  # fmt: skip
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("loading", total=count_objects(manifest))
        loaded = load_folder(folder, targets, batch_size,
                             on_batch=lambda _t, n: bar.update(task, advance=n))  # fmt: skip
    table(f"Loaded into {target}", ["object type", "records"], sorted(loaded.items()))
    if check.note:
        err_console.print(f"golive: warning: {check.note}", soft_wrap=True, markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
