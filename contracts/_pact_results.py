"""The Pact verifier's JSON results as one result per interaction, each mismatch one line.

The verifier (pact-python 4, ``Verifier.results``) reports ``interactionResults``
with a list of mismatches each; this module turns them into lines a person reads
in CI: the interaction, where (status, a header, the body path of the field), and
expected against actual. docs/contracts.md, "Reading a failure".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["InteractionResult", "describe_mismatch", "interaction_results", "run_errors"]

_MISSING_KEYS = "Actual map is missing the following keys:"


@dataclass
class InteractionResult:
    """One interaction of one pact as the verifier judged it."""

    consumer: str
    provider: str
    description: str
    states: list[str]
    ok: bool
    pending: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        given = f" (given {' and '.join(self.states)})" if self.states else ""
        return f"{self.description}{given}"

    @property
    def verdict(self) -> str:
        if self.ok:
            return "passed"
        return "failed (pending: does not fail the run)" if self.pending else "failed"

    def to_json(self) -> dict[str, Any]:
        return {
            "consumer": self.consumer,
            "provider": self.provider,
            "description": self.description,
            "provider_states": self.states,
            "result": "passed" if self.ok else "failed",
            "pending": self.pending,
            "problems": self.problems,
        }


def _shown(value: Any) -> str:
    """A value of the report as it reads: JSON text decoded when it is JSON."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return str(value)
    return repr(value) if isinstance(value, str) else json.dumps(value)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if key.isidentifier() else f"{path}[{json.dumps(key)}]"


def describe_mismatch(m: dict[str, Any]) -> list[str]:
    """One mismatch of the verifier as readable line(s): where, then expected vs actual."""
    kind = str(m.get("type", ""))
    text = str(m.get("mismatch") or m.get("message") or "").strip()
    if kind == "StatusMismatch":
        return [f"status: expected {m.get('expected')}, actual {m.get('actual')}"]
    if kind in ("HeaderMismatch", "MetadataMismatch"):
        what = "header" if kind == "HeaderMismatch" else "metadata"
        return [f"{what} {m.get('key')}: {text}"]
    if kind == "BodyMismatch":
        path = str(m.get("path") or "$")
        if text.startswith(_MISSING_KEYS):
            keys = [k.strip() for k in text[len(_MISSING_KEYS) :].split(",") if k.strip()]
            return [f"body {_join(path, k)}: expected the field, the response has none"
                    for k in keys]  # fmt: skip
        return [f"body {path}: {text} (expected {_shown(m.get('expected'))}, "
                f"actual {_shown(m.get('actual'))})"]  # fmt: skip
    if kind == "BodyTypeMismatch":
        return [f"body: expected content type {m.get('expected')}, actual {m.get('actual')}"]
    if kind in ("QueryMismatch", "PathMismatch", "MethodMismatch"):
        return [f"{kind.removesuffix('Mismatch').lower()}: {text}"]
    return [text or json.dumps(m)]


def _problems(entry: dict[str, Any]) -> list[str]:
    mismatch = entry.get("mismatch")
    if not mismatch:
        return []
    if mismatch.get("type") == "error" or "mismatches" not in mismatch:
        return [str(mismatch.get("message") or json.dumps(mismatch))]
    lines: list[str] = []
    for m in mismatch.get("mismatches") or []:
        lines += describe_mismatch(m)
    return lines


def interaction_results(results: dict[str, Any]) -> list[InteractionResult]:
    """Every interaction of ``Verifier.results``, in the verifier's order."""
    out = []
    for entry in results.get("interactionResults") or []:
        out.append(
            InteractionResult(
                consumer=str(entry.get("consumer", "")),
                provider=str(entry.get("provider", "")),
                description=str(entry.get("description", "")),
                states=[str(s) for s in entry.get("providerStates") or []],
                ok=str(entry.get("result", "")).lower() == "ok" or not entry.get("mismatch"),
                pending=bool(entry.get("pending")),
                problems=_problems(entry),
            )
        )
    return out


def run_errors(results: dict[str, Any]) -> list[str]:
    """Failures of the run itself, not of an interaction: a pact that could not be loaded."""
    described = [f" - {e.get('description', '')}" for e in results.get("interactionResults") or []]
    out = []
    for entry in [*(results.get("errors") or []), *(results.get("pendingErrors") or [])]:
        name = str(entry.get("interaction", ""))
        if any(name.endswith(d) for d in described):
            continue
        mismatch = entry.get("mismatch") or {}
        message = str(mismatch.get("message") or "")
        out.append(f"{name}: {message}" if message and message not in name else name)
    return out
