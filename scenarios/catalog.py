"""Finding, loading and overriding scenario files, with errors that name the bad field.

A scenario is named by its library name (``erp-outage``) or by a path to a YAML or
TOML file; ``--set a.b=value`` overrides are applied before validation.
"""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from scenarios.spec import ScenarioSpec

__all__ = [
    "LIBRARY_DIR",
    "ScenarioError",
    "apply_overrides",
    "library_names",
    "load_scenario",
    "parse_assignment",
    "resolve",
    "validate",
]

LIBRARY_DIR = Path(__file__).resolve().parent / "library"
_SUFFIXES = (".yaml", ".yml", ".toml")
_FIELD_PREFIX = re.compile(r"^[a-z_][a-z0-9_.]*: ")


class ScenarioError(ValueError):
    """A scenario cannot be found, parsed or validated; the message fits on one line."""


def library_names() -> list[str]:
    """Names of the scenarios shipped in ``scenarios/library``."""
    return sorted(p.stem for p in LIBRARY_DIR.iterdir() if p.suffix in _SUFFIXES)


def resolve(name: str) -> Path:
    """A library name or a path to a scenario file -> the file."""
    path = Path(name)
    if path.suffix in _SUFFIXES or "/" in name or "\\" in name:
        if path.is_dir():
            raise ScenarioError(f"scenario file {name} is a folder, not a scenario file")
        if not path.is_file():
            raise ScenarioError(f"scenario file {name} does not exist")
        return path
    for suffix in _SUFFIXES:
        candidate = LIBRARY_DIR / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    raise ScenarioError(f"unknown scenario {name!r}; known: {', '.join(library_names())}")


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not UTF-8 text, so not a scenario file") from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        raw = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise ScenarioError(f"{path}: not valid {path.suffix[1:].upper()}: {first}") from None
    if not isinstance(raw, dict):
        raise ScenarioError(f"{path}: a scenario file must be a mapping of fields")
    return raw


def _describe(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    msg = err["msg"].removeprefix("Value error, ")
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    if where and _FIELD_PREFIX.match(msg):  # a validator naming a field below ``where``
        return f"{where}.{msg}{more}"
    return f"{where}: {msg}{more}" if where else f"{msg}{more}"


def validate(raw: dict[str, Any], source: str) -> ScenarioSpec:
    """Validate a raw mapping; a failure names the field and the source."""
    try:
        return ScenarioSpec.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(f"{source}: {_describe(exc)}") from None


def parse_assignment(text: str) -> tuple[str, Any]:
    """``middleware.workers=16`` -> (``middleware.workers``, 16); values are YAML scalars."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ScenarioError(f"expected key=value, got {text!r}")
    return key.strip(), yaml.safe_load(value) if value.strip() else ""


def _set_path(
    data: dict[str, Any], known: dict[str, Any], key: str, value: Any, option: str
) -> None:
    parts = key.split(".")
    node, shape = data, known
    for depth, part in enumerate(parts):
        if isinstance(shape, list) and part.isdigit() and int(part) < len(shape):
            index: Any = int(part)
        elif isinstance(shape, dict) and part in shape:
            index = part
        else:
            raise ScenarioError(f"{option}: unknown key {key!r} (no field {part!r})")
        if depth == len(parts) - 1:
            node[index] = value
            return
        if isinstance(node, dict) and index not in node:
            node[index] = {}
        node, shape = node[index], shape[index]


def apply_overrides(
    raw: dict[str, Any], assignments: list[str], option: str = "--set"
) -> dict[str, Any]:
    """Apply ``key=value`` overrides to a raw scenario mapping; unknown keys are refused.

    ``option`` is the command-line option the assignments came from, for the message.
    """
    if not assignments:
        return raw
    known = validate(raw, "scenario").model_dump(mode="json")
    data = copy.deepcopy(known)
    for text in assignments:
        key, value = parse_assignment(text)
        _set_path(data, known, key, value, option)
    return data


def load_scenario(name: str, assignments: list[str] | None = None) -> ScenarioSpec:
    """Load and validate a scenario by library name or path, with overrides applied."""
    path = resolve(name)
    raw = _read(path)
    if assignments:
        raw = apply_overrides(raw, assignments)
        return validate(raw, f"{path.name} with --set")
    return validate(raw, str(path))
