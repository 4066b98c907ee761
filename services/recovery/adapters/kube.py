"""Kubernetes deployments through the official ``kubernetes`` client: rollout restart and scale.

The bearer token comes from the environment variable the catalog names and goes only into the
client's configuration; no detail quotes it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from services.recovery.domain.catalog import KubeCluster, RecoveryError, RolloutRestart, Scale

RESTARTED_AT: Final = "kubectl.kubernetes.io/restartedAt"
DNS_LABEL: Final = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_SUBDOMAIN: Final = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


class KubeActionError(RecoveryError):
    """A Kubernetes action could not run (token variable unset, a bad name...)."""


class DeploymentControl(Protocol):
    """What the Kubernetes actions need of a cluster."""

    def restart(self, namespace: str, deployment: str, at: str) -> int:
        """Stamp the pod template with ``at``; return the deployment's new generation."""
        ...

    def replicas(self, namespace: str, deployment: str) -> int:
        """The deployment's declared replicas (its scale subresource)."""
        ...

    def scale(self, namespace: str, deployment: str, replicas: int) -> int:
        """Set the declared replicas; return them as the API answered."""
        ...


def restart_patch(at: str) -> dict[str, Any]:
    """The merge patch ``kubectl rollout restart`` sends."""
    return {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: at}}}}}


@contextmanager
def api_refusals() -> Iterator[None]:
    """Turn the API's refusal into a one-line `KubeActionError` (status, reason, the Status message)."""
    try:
        yield
    except ApiException as exc:
        try:
            message = str(json.loads(exc.body or "{}").get("message", ""))
        except (ValueError, AttributeError):
            message = ""
        raise KubeActionError(f"Kubernetes API {exc.status} {exc.reason}: {message}".rstrip(": ")) from None


def check_names(namespace: str, deployment: str) -> None:
    """Refuse what is not a Kubernetes namespace (DNS label) or deployment name (DNS subdomain)."""
    if not DNS_LABEL.fullmatch(namespace):
        raise KubeActionError(f"not a namespace name: {namespace!r}")
    if not DNS_SUBDOMAIN.fullmatch(deployment):
        raise KubeActionError(f"not a deployment name: {deployment!r}")


class KubeDeployments:
    """``AppsV1Api`` for one cluster (blocking; the runner calls it from a thread)."""

    def __init__(self, cluster: KubeCluster, *, timeout_s: float = 10.0) -> None:
        configuration = k8s.Configuration()
        if cluster.api_server:
            configuration.host = cluster.api_server
            if cluster.token_env:
                token = os.environ.get(cluster.token_env)
                if not token:
                    raise KubeActionError(f"environment variable {cluster.token_env} (the API token) is not set")
                configuration.api_key = {"authorization": token}
                configuration.api_key_prefix = {"authorization": "Bearer"}
            if cluster.ca_file:
                configuration.ssl_ca_cert = cluster.ca_file
        else:
            k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        self._apps = k8s.AppsV1Api(k8s.ApiClient(configuration))
        self.timeout_s = timeout_s

    def restart(self, namespace: str, deployment: str, at: str) -> int:
        """PATCH the deployment's pod template annotation."""
        check_names(namespace, deployment)
        with api_refusals():
            found = self._apps.patch_namespaced_deployment(
                deployment, namespace, restart_patch(at), _request_timeout=self.timeout_s
            )
        return int(found.metadata.generation or 0) if found.metadata else 0

    def replicas(self, namespace: str, deployment: str) -> int:
        """GET the scale subresource."""
        check_names(namespace, deployment)
        with api_refusals():
            found = self._apps.read_namespaced_deployment_scale(deployment, namespace, _request_timeout=self.timeout_s)
        return int(found.spec.replicas or 0) if found.spec else 0

    def scale(self, namespace: str, deployment: str, replicas: int) -> int:
        """PATCH the scale subresource."""
        check_names(namespace, deployment)
        body = {"spec": {"replicas": replicas}}
        with api_refusals():
            found = self._apps.patch_namespaced_deployment_scale(
                deployment, namespace, body, _request_timeout=self.timeout_s
            )
        return int(found.spec.replicas or 0) if found.spec else 0


def rollout_restart(control: DeploymentControl, action: RolloutRestart, *, now: datetime | None = None) -> str:
    """Restart the deployment's pods (a new template stamp); return what changed."""
    at = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    generation = control.restart(action.namespace, action.deployment, at)
    return f"{action.action}: {action.namespace}/{action.deployment} restartedAt {at} (generation {generation})"


def scale(control: DeploymentControl, action: Scale) -> tuple[bool, str]:
    """Scale the deployment to ``action.wanted``; ok when the API answers that count."""
    before = control.replicas(action.namespace, action.deployment)
    after = control.scale(action.namespace, action.deployment, action.wanted)
    ok = after == action.wanted
    mark = "" if ok else f" (wanted {action.wanted})"
    return ok, f"{action.action}: {action.namespace}/{action.deployment} replicas {before}->{after}{mark}"
