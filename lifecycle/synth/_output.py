"""Files of generated objects: one per object type, NDJSON or CSV, hashed as they are written.

CSV has one column per model field (in model order); nested lists and objects are
JSON strings in their cell, null is an empty cell, booleans are ``true``/``false``.
The manifest's ``schemas`` give each column's type (``lifecycle.synth._schema``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path
from typing import IO, Any

from lifecycle.entities import ENTITY_TYPES

__all__ = ["FORMATS", "ObjectFiles", "file_name"]

FORMATS = ("ndjson", "csv")
_FLUSH_LINES = 2_000
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def file_name(object_type: str, fmt: str) -> str:
    return f"{object_type}.{fmt}"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (list, dict)):
        return _encode(value)
    return str(value)


class _File:
    __slots__ = ("bytes", "columns", "count", "defaults", "fh", "hash", "lines")

    def __init__(
        self, path: Path, columns: list[str] | None, defaults: dict[str, Any] | None = None
    ) -> None:
        self.fh: IO[bytes] = path.open("wb")
        self.hash = hashlib.sha256()
        self.lines: list[str] = []
        self.count = 0
        self.bytes = 0
        self.columns = columns
        self.defaults = defaults or {}
        if columns is not None:
            self.lines.append(",".join(columns))

    def flush(self) -> None:
        if not self.lines:
            return
        data = ("\n".join(self.lines) + "\n").encode("utf-8")
        self.lines.clear()
        self.hash.update(data)
        self.bytes += len(data)
        self.fh.write(data)


class ObjectFiles:
    """Writers for every object type of ``ENTITY_TYPES`` in ``out`` (files exist even if empty)."""

    def __init__(self, out: Path, fmt: str) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}, not {fmt!r}")
        self.fmt = fmt
        self._files: dict[str, _File] = {}
        for object_type, model in ENTITY_TYPES.items():
            path = out / file_name(object_type, fmt)
            if fmt != "csv":
                self._files[object_type] = _File(path, None)
                continue
            # A field the generator leaves out is written as the model's default (as the
            # simulators would store it), so a never-null column has no empty cells.
            fields = model.model_fields.items()
            defaults = {
                name: info.get_default(call_default_factory=True)
                for name, info in fields
                if not info.is_required()
            }
            self._files[object_type] = _File(path, list(model.model_fields), defaults)

    def write(self, object_type: str, obj: dict[str, Any]) -> None:
        f = self._files[object_type]
        if f.columns is None:
            f.lines.append(_encode(obj))
        else:
            buf = io.StringIO()
            d = f.defaults
            csv.writer(buf, lineterminator="").writerow(
                [_cell(obj[c] if c in obj else d.get(c)) for c in f.columns]
            )
            f.lines.append(buf.getvalue())
        f.count += 1
        if len(f.lines) >= _FLUSH_LINES:
            f.flush()

    def close(self) -> dict[str, dict[str, Any]]:
        """Flush and close every file; per object type: file, records, bytes, sha256."""
        out: dict[str, dict[str, Any]] = {}
        for object_type, f in self._files.items():
            f.flush()
            f.fh.close()
            out[object_type] = {
                "file": file_name(object_type, self.fmt), "records": f.count,
                "bytes": f.bytes, "sha256": f.hash.hexdigest(),
            }  # fmt: skip
        return out
