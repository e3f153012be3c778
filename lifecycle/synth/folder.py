"""Checking a folder written by ``generate`` before anything reads or loads it.

``check_folder`` reads ``manifest.json`` and, for every file it lists, checks that the
file is there, that its sha256 is the one written, and that every line parses (NDJSON:
one JSON object a line; CSV: UTF-8 rows with the header's columns). A problem raises
``FolderProblem`` with one line naming the file, so a loader can refuse the folder
before it sends anything instead of loading half of it.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

__all__ = ["FolderProblem", "check_folder", "read_manifest"]

MANIFEST = "manifest.json"
_CHUNK = 1 << 20


class FolderProblem(ValueError):
    """The folder is not one ``generate`` wrote, or a file of it changed since."""


def read_manifest(folder: Path) -> dict[str, Any]:
    """``folder/manifest.json`` as a dict with a ``files`` table, or a FolderProblem."""
    path = folder / MANIFEST
    if not folder.is_dir():
        what = "does not exist" if not folder.exists() else "is not a folder"
        raise FolderProblem(f"{folder} {what}: not a `golive data generate` folder")
    if not path.is_file():
        raise FolderProblem(f"{folder} has no {MANIFEST}: not a `golive data generate` folder")
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        raise FolderProblem(f"{path}: not a readable manifest: {_short(exc)}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise FolderProblem(f"{path}: not a `golive data generate` manifest (no files table)")
    return manifest


def check_folder(folder: Path, parse: bool = True) -> dict[str, Any]:
    """The manifest, once every file it lists is present, unchanged and (``parse``) parses."""
    manifest = read_manifest(folder)
    for name, info in sorted(manifest["files"].items()):
        expected = info.get("sha256") if isinstance(info, dict) else None
        path = folder / name
        if Path(name).name != name or not isinstance(expected, str):
            raise FolderProblem(f"{folder / MANIFEST}: bad entry for {name!r}")
        if not path.is_file():
            raise FolderProblem(f"{path} is missing (listed in {MANIFEST})")
        digest = hashlib.sha256()
        try:
            with path.open("rb") as fh:
                while chunk := fh.read(_CHUNK):
                    digest.update(chunk)
        except OSError as exc:
            raise FolderProblem(f"{path}: cannot read: {exc.strerror or exc}") from None
        if digest.hexdigest() != expected:
            raise FolderProblem(
                f"{path} does not match its sha256 in {MANIFEST}: changed or damaged "
                "since `golive data generate` wrote it"
            )
        if parse:
            check_lines(path)
    return manifest


def check_lines(path: Path) -> None:
    """Every line of an NDJSON or CSV file parses, or a FolderProblem naming the line."""
    lineno = 0
    try:
        if path.suffix == ".csv":
            with path.open(encoding="utf-8", newline="") as fh:
                reader = csv.reader(fh)
                header = next(reader, None)
                for row in reader:
                    if header is not None and row and len(row) != len(header):
                        raise FolderProblem(
                            f"{path}:{reader.line_num}: {len(row)} cells, the header has "
                            f"{len(header)}"
                        )
            return
        with path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if line.strip() and not isinstance(json.loads(line), dict):
                    raise FolderProblem(f"{path}:{lineno}: not a JSON object")
    except UnicodeDecodeError as exc:
        raise FolderProblem(f"{path}: not UTF-8 text ({_short(exc)})") from None
    except FolderProblem:
        raise
    except csv.Error as exc:
        raise FolderProblem(f"{path}: not valid CSV: {_short(exc)}") from None
    except ValueError as exc:
        raise FolderProblem(f"{path}:{lineno}: not valid JSON: {_short(exc)}") from None
    except OSError as exc:
        raise FolderProblem(f"{path}: cannot read: {exc.strerror or exc}") from None


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]
