"""Determinism, formats, events and the ``golive data`` commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from golive.cli import exit_status as _run
from golive.dataload import iter_objects
from lifecycle.entities import ENTITY_TYPES
from lifecycle.events import EVENT_TYPES, Event
from lifecycle.synth import SynthParams, generate


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(accounts=st.integers(1, 25), seed=st.integers(0, 2**31))
def test_same_seed_and_parameters_give_byte_identical_files(
    tmp_path_factory: pytest.TempPathFactory, accounts: int, seed: int
) -> None:
    a, b = tmp_path_factory.mktemp("a"), tmp_path_factory.mktemp("b")
    params = SynthParams(accounts=accounts, seed=seed, events=True, duplicate_rate=0.1,
                         reorder_rate=0.1)  # fmt: skip
    generate(params, a)
    generate(params, b)
    assert _files(a) == _files(b)


def test_different_seeds_give_different_data(tmp_path: Path) -> None:
    generate(SynthParams(accounts=10, seed=1), tmp_path / "a")
    generate(SynthParams(accounts=10, seed=2), tmp_path / "b")
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert a["account.ndjson"] != b["account.ndjson"]
    assert a["product.ndjson"] != b["product.ndjson"]  # ids differ too


def test_manifest_hashes_and_counts_match_the_files(tmp_path: Path) -> None:
    import hashlib

    manifest = generate(SynthParams(accounts=8, seed=4), tmp_path)
    on_disk = json.loads((tmp_path / "manifest.json").read_text())
    assert on_disk == manifest
    for name, info in manifest["files"].items():
        data = (tmp_path / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == info["sha256"]
        assert data.count(b"\n") == info["records"]
    assert manifest["parameters"]["accounts"] == 8


def test_csv_holds_the_same_objects_as_ndjson(tmp_path: Path) -> None:
    generate(SynthParams(accounts=12, seed=5), tmp_path / "n")
    generate(SynthParams(accounts=12, seed=5, fmt="csv"), tmp_path / "c")
    for object_type in ("account", "opportunity", "quote", "invoice", "case", "journal_entry"):
        from_csv = list(iter_objects(tmp_path / "c", object_type))
        model = ENTITY_TYPES[object_type]  # fields NDJSON leaves out take the model's default
        from_ndjson = [
            model.model_validate(o).model_dump(mode="json")
            for o in iter_objects(tmp_path / "n", object_type)
        ]
        # CSV has a column per model field; fields the generator leaves out are empty.
        assert len(from_csv) == len(from_ndjson)
        pairs = zip(from_csv, from_ndjson, strict=True)
        assert [{k: c[k] for k in n} for c, n in pairs] == from_ndjson
    header = (tmp_path / "c" / "quote.csv").read_text().splitlines()[0]
    assert header.startswith("id,external_id,version")


def test_events_are_valid_envelopes_with_duplicates_and_reordering(tmp_path: Path) -> None:
    generate(SynthParams(accounts=15, seed=6, events=True), tmp_path / "plain")
    generate(SynthParams(accounts=15, seed=6, events=True, duplicate_rate=0.2, reorder_rate=0.2),
             tmp_path / "noisy")  # fmt: skip
    plain = [json.loads(x) for x in (tmp_path / "plain" / "events.ndjson").read_text().splitlines()]
    noisy = [json.loads(x) for x in (tmp_path / "noisy" / "events.ndjson").read_text().splitlines()]
    for e in plain:
        Event.model_validate(e)
        assert e["type"] in EVENT_TYPES[e["system"]]
    assert [e["occurred_at"] for e in plain] == sorted(e["occurred_at"] for e in plain)
    assert {e["id"] for e in noisy} == {e["id"] for e in plain}
    assert len(noisy) > len(plain)
    assert [e["occurred_at"] for e in noisy] != sorted(e["occurred_at"] for e in noisy)
    assert (tmp_path / "plain" / "account.ndjson").read_bytes() == (
        tmp_path / "noisy" / "account.ndjson"
    ).read_bytes()


def test_cli_generate_writes_files_and_reruns_byte_identical(tmp_path: Path) -> None:
    args = ["data", "generate", "--accounts", "6", "--seed", "9", "--locale", "de_DE"]
    assert _run([*args, "--out", str(tmp_path / "a")]) == 0
    assert _run([*args, "--out", str(tmp_path / "b")]) == 0
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    assert (tmp_path / "a" / "billing_customer.ndjson").exists()
    assert _run(["data", "stats", str(tmp_path / "a")]) == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--format", "xml"], "--format"),
        (["--as-of", "soon"], "as_of"),
        (["--locale", "xx_YY"], "--locale"),
        (["--duplicate-rate", "0.1"], "--events"),
    ],
)
def test_cli_bad_option_is_one_line_and_exit_2(
    tmp_path: Path, capsys: Any, extra: list[str], message: str
) -> None:
    code = _run(["data", "generate", "--accounts", "2", "--out", str(tmp_path), *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1
    assert message in err


def test_cli_stats_of_a_folder_without_manifest_is_refused(tmp_path: Path, capsys: Any) -> None:
    assert _run(["data", "stats", str(tmp_path)]) == 2
    assert "manifest.json" in capsys.readouterr().err


def _typed(cell: str, field: dict[str, Any]) -> Any:
    """A CSV cell read by its Table Schema field alone (what a reader without golive does)."""
    if cell in field.get("missingValues", [""]):
        return None
    kind = field["type"]
    if kind == "integer":
        return int(cell)
    if kind == "boolean":
        return {"true": True, "false": False}[cell]
    if kind in ("array", "object"):
        return json.loads(cell)
    return cell


def test_csv_read_by_the_manifest_schema_gives_back_the_ndjson_objects(tmp_path: Path) -> None:
    import csv

    generate(SynthParams(accounts=15, seed=8), tmp_path / "n")
    manifest = generate(SynthParams(accounts=15, seed=8, fmt="csv"), tmp_path / "c")
    for object_type, schema in manifest["schemas"].items():
        fields = {f["name"]: f for f in schema["fields"]}
        with (tmp_path / "c" / f"{object_type}.csv").open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert list(rows[0]) == list(fields) if rows else True
        from_csv = [{k: _typed(v, fields[k]) for k, v in row.items()} for row in rows]
        model = ENTITY_TYPES[object_type]  # fields NDJSON leaves out take the model's default
        from_ndjson = [
            model.model_validate(o).model_dump(mode="json")
            for o in iter_objects(tmp_path / "n", object_type)
        ]
        assert len(from_csv) == len(from_ndjson)
        for c, n in zip(from_csv, from_ndjson, strict=True):
            assert c == n, (object_type, {k: (c[k], n[k]) for k in c if c[k] != n[k]})
    # digit-only strings stay strings; nullable money is an integer column
    types = {t: {f["name"]: f for f in s["fields"]} for t, s in manifest["schemas"].items()}
    assert types["contact"]["phone"]["type"] == "string"
    assert types["item"]["revenue_account"]["type"] == "string"
    assert types["billing_customer"]["payment_method"]["type"] == "string"
    assert types["opportunity"]["amount_minor"] == {
        "name": "amount_minor",
        "type": "integer",
        "constraints": {"required": False},
    }


def _dates_in(folder: Path) -> list[str]:
    import re

    found: list[str] = []
    for path in folder.glob("*.ndjson"):
        found += re.findall(r'"(\d{4}-\d{2}-\d{2})', path.read_text("utf-8"))
    return found


@pytest.mark.parametrize(("as_of", "years"), [("2096-12-31", 3), ("2003-02-01", 3)])
def test_the_widest_as_of_keeps_every_date_where_the_simulators_take_it(
    tmp_path: Path, as_of: str, years: int
) -> None:
    generate(SynthParams(accounts=30, seed=3, years=years, as_of=as_of, events=True), tmp_path)
    found = _dates_in(tmp_path)
    assert min(found) >= "2000-01-01"
    assert max(found) <= "2100-12-31"


@pytest.mark.parametrize(("as_of", "years"), [("2999-06-01", 3), ("2097-01-01", 1),
                                              ("2003-01-31", 3), ("2010-01-01", 11)])  # fmt: skip
def test_an_as_of_whose_data_the_simulators_would_refuse_is_refused(as_of: str, years: int) -> None:
    with pytest.raises(ValueError, match=r"as_of .* out of range"):
        SynthParams(accounts=1, years=years, as_of=as_of).check()
