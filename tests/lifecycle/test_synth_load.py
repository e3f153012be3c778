"""Loading generated data into simulators: batching, refusals, unreachable URLs, round trip."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from golive.dataload import iter_objects, load_folder
from golive.errors import CheckFailed, UsageProblem
from lifecycle.entities import ENTITY_TYPES, SYSTEM_TYPES
from lifecycle.synth import SynthParams, generate

_TARGETS = {s: f"http://{s}.test" for s in SYSTEM_TYPES}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("data")
    generate(SynthParams(accounts=10, seed=11), out)
    return out


def test_loader_posts_every_object_in_batches_and_reports_progress(folder: Path) -> None:
    posts: list[tuple[str, str, int]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        ((object_type, objs),) = body["objects"].items()
        posts.append((request.url.host, object_type, len(objs)))
        return httpx.Response(200, json={"loaded": {object_type: len(objs)}})

    progress: list[int] = []
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        loaded = load_folder(folder, _TARGETS, batch_size=7, client=client,
                             on_batch=lambda _t, n: progress.append(n))  # fmt: skip
    manifest = json.loads((folder / "manifest.json").read_text())
    assert loaded == {t: n for t, n in manifest["counts"].items() if n}
    assert max(n for _, _, n in posts) == 7
    assert sum(progress) == sum(manifest["counts"].values())
    system_of = {t: s for s, types in SYSTEM_TYPES.items() for t in types}
    assert all(host == f"{system_of[t]}.test" for host, t, _ in posts)


def test_a_refused_object_is_named_in_one_line(folder: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        problem = {"type": "about:blank", "title": "Unprocessable", "status": 422,
                   "code": "seed_rejected", "detail": "1 problem",
                   "errors": [{"object_type": "account", "index": 3, "id": "acc_00ff",
                               "field": "segment", "message": "bad value"}]}  # fmt: skip
        return httpx.Response(
            422, json=problem, headers={"content-type": "application/problem+json"}
        )

    with httpx.Client(transport=httpx.MockTransport(handler)) as client, pytest.raises(
        CheckFailed, match=r"crm refused account acc_00ff: segment: bad value"
    ):  # fmt: skip
        load_folder(folder, _TARGETS, client=client)


def test_an_unreachable_simulator_is_named_by_url(folder: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with httpx.Client(transport=httpx.MockTransport(handler)) as client, pytest.raises(
        UsageProblem, match=r"http://crm\.test/_sim/seed"
    ):  # fmt: skip
        load_folder(folder, _TARGETS, client=client)


class _SyncASGI(httpx.BaseTransport):
    """Drives in-process ASGI apps from the loader's synchronous client."""

    def __init__(self, apps: dict[str, Any]) -> None:
        self._loop = asyncio.new_event_loop()
        self._transports = {f"{s}.test": httpx.ASGITransport(app=a) for s, a in apps.items()}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        transport = self._transports[request.url.host]
        response = self._loop.run_until_complete(transport.handle_async_request(request))
        content = self._loop.run_until_complete(response.aread())
        return httpx.Response(response.status_code, headers=response.headers, content=content)

    def close(self) -> None:
        self._loop.close()


@pytest.mark.parametrize("system", list(SYSTEM_TYPES))
def test_loading_into_empty_simulators_and_exporting_gives_the_same_objects(
    folder: Path, system: str
) -> None:
    from simulators.registry import create_app

    transport = _SyncASGI({system: create_app(system)})
    with httpx.Client(transport=transport) as client:
        load_folder(folder, _TARGETS, batch_size=50, client=client, systems=(system,))
        exported = client.get(f"{_TARGETS[system]}/_sim/export").json()["objects"]
    for object_type, model in SYSTEM_TYPES[system].items():
        dumped = [
            model.model_validate(o).model_dump(mode="json")
            for o in iter_objects(folder, object_type)
        ]
        ours = sorted(dumped, key=lambda o: o["id"])
        theirs = sorted(exported.get(object_type, []), key=lambda o: o["id"])
        assert theirs == ours, object_type
    assert set(ENTITY_TYPES) >= set(exported)


def test_the_loader_sends_the_admin_token_of_the_environment(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from simulators.estate import running_estate
    from simulators.kit.credentials import ADMIN_TOKEN_ENV

    with running_estate(["crm"], admin_token="admin-t") as estate:
        monkeypatch.delenv(ADMIN_TOKEN_ENV, raising=False)
        with pytest.raises(CheckFailed, match="admin_token_required"):
            load_folder(folder, estate.urls, systems=("crm",))
        monkeypatch.setenv(ADMIN_TOKEN_ENV, "admin-t")
        assert load_folder(folder, estate.urls, systems=("crm",))["account"] > 0
