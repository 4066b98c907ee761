"""Kubernetes actions through the official client against a real local HTTP server.

No cluster runs here: the server answers with Deployment and Scale objects written in the shape the
Kubernetes API returns (apps/v1, autoscaling/v1), keeps the replica count it was told, and records
every request, so the test checks what the client really sent (path, verb, patch, bearer token).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from services.recovery.adapters.kube import RESTARTED_AT
from services.recovery.adapters.runner import LocalRunner
from services.recovery.app import build_catalog
from services.recovery.settings import RecoverySettings

pytestmark = pytest.mark.integration
TOKEN = "k8s-token-not-in-events"
DEPLOYMENT = "/apis/apps/v1/namespaces/shop/deployments/web"


@dataclass
class ServedState:
    """What the local API server remembers: the replica count, the template annotations, the requests."""

    replicas: int = 2
    generation: int = 1
    annotations: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, str, str, str, Any]] = field(default_factory=list)  # verb, path, type, auth, body


def deployment(state: ServedState) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "generation": state.generation, "resourceVersion": "4711"},
        "spec": {
            "replicas": state.replicas, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}, "annotations": dict(state.annotations)},
                         "spec": {"containers": [{"name": "web", "image": "registry.local/web:1.4"}]}},
        },
        "status": {"replicas": state.replicas, "observedGeneration": state.generation - 1},
    }  # fmt: skip


def scale_object(state: ServedState) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v1", "kind": "Scale",
        "metadata": {"name": "web", "namespace": "shop", "resourceVersion": "4712"},
        "spec": {"replicas": state.replicas}, "status": {"replicas": state.replicas, "selector": "app=web"},
    }  # fmt: skip


NOT_FOUND = {"apiVersion": "v1", "kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404,
             "message": "deployments.apps \"nosuch\" not found"}  # fmt: skip


@contextmanager
def api_server(state: ServedState) -> Iterator[str]:
    """A local HTTP server answering the deployment and scale endpoints; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _record(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            state.requests.append(
                (
                    self.command,
                    self.path,
                    self.headers.get("Content-Type", ""),
                    self.headers.get("Authorization", ""),
                    body,
                )
            )
            return body

        def do_GET(self) -> None:
            self._record()
            if self.path == f"{DEPLOYMENT}/scale":
                return self._answer(200, scale_object(state))
            return self._answer(404, NOT_FOUND)

        def do_PATCH(self) -> None:
            body = self._record()
            if self.path == DEPLOYMENT:
                state.annotations.update(body["spec"]["template"]["metadata"]["annotations"])
                state.generation += 1
                return self._answer(200, deployment(state))
            if self.path == f"{DEPLOYMENT}/scale":
                state.replicas = body["spec"]["replicas"]
                return self._answer(200, scale_object(state))
            return self._answer(404, NOT_FOUND)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def settings_for(url: str, deployment_name: str = "web") -> RecoverySettings:
    cluster = {"api_server": url, "token_env": "IR_TEST_K8S_TOKEN", "namespace": "shop", "deployment": deployment_name}
    return RecoverySettings(
        rollout_restart_actions=[{"name": "web", "target": "web", **cluster}],
        scale_actions=[{"name": "web", "target": "web", "replicas": 5, "rollback_replicas": 2, **cluster}],
    )


async def test_rollout_restart_and_scale_send_what_kubectl_sends(monkeypatch: pytest.MonkeyPatch) -> None:
    state = ServedState()
    monkeypatch.setenv("IR_TEST_K8S_TOKEN", TOKEN)
    with api_server(state) as url:
        catalog, runner = build_catalog(settings_for(url)), LocalRunner()

        restart = catalog.resolve("rollout_restart:web", "web")
        outcome = await runner.run(restart)
        assert outcome.ok, outcome.detail
        verb, path, content_type, auth, body = state.requests[-1]
        assert (verb, path, auth) == ("PATCH", DEPLOYMENT, f"Bearer {TOKEN}")
        assert content_type in ("application/strategic-merge-patch+json", "application/merge-patch+json")
        stamp = body["spec"]["template"]["metadata"]["annotations"][RESTARTED_AT]
        assert state.annotations == {RESTARTED_AT: stamp}
        assert f"shop/web restartedAt {stamp} (generation 2)" in outcome.detail
        assert catalog.rollback_of(restart) is None

        up = catalog.resolve("scale:web", "web")
        outcome = await runner.run(up)
        assert outcome.ok and "shop/web replicas 2->5" in outcome.detail, outcome.detail
        assert state.replicas == 5 and state.requests[-1][4] == {"spec": {"replicas": 5}}

        down = catalog.rollback_of(up)
        assert down is not None and down is catalog.resolve("scale:web:rollback", "web")
        outcome = await runner.run(down)
        assert outcome.ok and "replicas 5->2" in outcome.detail, outcome.detail
        assert state.replicas == 2
        assert all(TOKEN not in str(catalog.describe(a)) for a in (restart, up, down))


async def test_an_api_refusal_or_missing_token_is_a_failed_step(monkeypatch: pytest.MonkeyPatch) -> None:
    state = ServedState()
    with api_server(state) as url:
        catalog = build_catalog(settings_for(url, deployment_name="nosuch"))
        outcome = await LocalRunner().run(catalog.resolve("scale:web", "web"))
        assert not outcome.ok and "IR_TEST_K8S_TOKEN" in outcome.detail and state.requests == []

        monkeypatch.setenv("IR_TEST_K8S_TOKEN", TOKEN)
        outcome = await LocalRunner().run(catalog.resolve("rollout_restart:web", "web"))
        assert not outcome.ok and TOKEN not in outcome.detail
        assert outcome.detail == 'KubeActionError: Kubernetes API 404 Not Found: deployments.apps "nosuch" not found'
        assert state.requests[-1][:2] == ("PATCH", "/apis/apps/v1/namespaces/shop/deployments/nosuch")
