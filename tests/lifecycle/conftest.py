"""Helpers for the synthetic data tests: generate into a temp folder, read it back, check it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lifecycle.synth import SynthParams, generate

Objects = dict[str, list[dict[str, Any]]]


def read_ndjson(folder: Path) -> Objects:
    """Every object of a generated NDJSON folder, by object type."""
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    out: Objects = {}
    for name, info in manifest["files"].items():
        if name == "events.ndjson":
            continue
        object_type = name.rsplit(".", 1)[0]
        text = (folder / info["file"]).read_text("utf-8")
        out[object_type] = [json.loads(line) for line in text.splitlines()]
    return out


@pytest.fixture
def generated(tmp_path: Path) -> Callable[..., tuple[Path, Objects]]:
    """``generated(accounts=20, seed=1, ...)`` -> (folder, objects by type)."""
    counter = iter(range(1_000_000))

    def make(**kwargs: Any) -> tuple[Path, Objects]:
        folder = tmp_path / f"run{next(counter)}"
        generate(SynthParams(**kwargs), folder)
        return folder, read_ndjson(folder)

    return make
