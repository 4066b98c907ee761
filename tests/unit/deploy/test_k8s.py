"""deploy/ checked offline: every manifest against the Kubernetes schemas, and against what the code needs."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from services.recovery.settings import RecoverySettings
from shared.topics import ALL_TOPICS
from tests.unit.deploy.deployment import (
    DEPLOY,
    KUSTOMIZATION,
    MANIFESTS,
    REPO,
    SERVICES,
    container_of,
    k8s_config_file,
    k8s_env,
    kustomize_render,
    load_settings,
    of_kind,
    pod_specs,
    subscriptions,
    workloads,
)

K8S_VERSION = "1.30.0"  # the oldest Kubernetes release still supported upstream when this was written
PARTITIONS = {t.name: t.partitions for t in ALL_TOPICS}
SCALED = ("detector", "responder", "rca")
APP = "app.kubernetes.io/name"

# KEDA's ScaledObject (keda.sh/v1alpha1), the fields used here: kubernetes-validate has no schema for CRDs.
KAFKA_TRIGGER_KEYS = ("bootstrapServers", "bootstrapServersFromEnv", "consumerGroup", "topic", "lagThreshold",
                      "activationLagThreshold", "offsetResetPolicy", "allowIdleConsumers", "excludePersistentLag",
                      "scaleToZeroOnInvalidOffset", "limitToPartitionsWithLag", "version", "sasl", "tls")  # fmt: skip
SCALED_OBJECT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "kind": {"const": "ScaledObject"},
        "metadata": {"type": "object", "required": ["name"]},
        "spec": {
            "type": "object",
            "required": ["scaleTargetRef", "minReplicaCount", "maxReplicaCount", "triggers"],
            "additionalProperties": False,
            "properties": {
                "scaleTargetRef": {
                    "type": "object",
                    "required": ["name"],
                    "additionalProperties": False,
                    "properties": {
                        "name": {"type": "string"},
                        "kind": {"const": "Deployment"},
                        "apiVersion": {"const": "apps/v1"},
                    },
                },
                "minReplicaCount": {"type": "integer", "minimum": 1},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "pollingInterval": {"type": "integer", "minimum": 1},
                "cooldownPeriod": {"type": "integer", "minimum": 0},
                "triggers": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["type", "metadata"],
                        "additionalProperties": False,
                        "properties": {
                            "type": {"const": "kafka"},
                            "authenticationRef": {"type": "object", "required": ["name"]},
                            "metadata": {
                                "type": "object",
                                "required": ["consumerGroup", "topic", "lagThreshold"],
                                "additionalProperties": False,
                                "properties": {
                                    **{k: {"type": "string"} for k in KAFKA_TRIGGER_KEYS},
                                    "lagThreshold": {"type": "string", "pattern": "^[1-9][0-9]*$"},
                                    "offsetResetPolicy": {"enum": ["earliest", "latest"]},
                                    "allowIdleConsumers": {"enum": ["true", "false"]},
                                },
                                "oneOf": [
                                    {"required": ["bootstrapServers"]},
                                    {"required": ["bootstrapServersFromEnv"]},
                                ],
                            },
                        },
                    },
                },
            },
        },
    },
}
HAND_SCHEMAS = {("keda.sh/v1alpha1", "ScaledObject"): SCALED_OBJECT_SCHEMA}


def label(doc: dict[str, Any]) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"


def validate(doc: dict[str, Any]) -> None:
    """kubernetes-validate (strict: no unknown field) for built-in kinds, the hand schema for KEDA's."""
    hand = HAND_SCHEMAS.get((doc["apiVersion"], doc["kind"]))
    if hand is not None:
        jsonschema.validate(doc, hand)
        return
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_every_referenced_file_exists_inside_the_root() -> None:
    files = list(KUSTOMIZATION["resources"])
    for generator in (*KUSTOMIZATION["configMapGenerator"], *KUSTOMIZATION["secretGenerator"]):
        files += generator.get("files", []) + generator.get("envs", [])
    for name in files:
        path = (DEPLOY / name).resolve()
        assert path.is_relative_to(DEPLOY.resolve()), f"{name}: kustomize refuses files above its root"
        assert path.exists(), name
    listed = {(DEPLOY / n).resolve() for n in KUSTOMIZATION["resources"]}
    unlisted = {p for p in (DEPLOY / "k8s").glob("*.yaml") if p.resolve() not in listed}
    assert not unlisted, f"manifests kustomization.yaml does not apply: {sorted(map(str, unlisted))}"


@pytest.mark.parametrize("doc", MANIFESTS, ids=label)
def test_every_manifest_is_valid_for_kubernetes(doc: dict[str, Any]) -> None:
    validate(doc)


def test_what_kustomize_renders_is_valid_and_the_same_set() -> None:
    rendered = kustomize_render()
    if rendered is None:
        pytest.skip("kubectl not installed: the manifests are checked as the files kustomization.yaml lists")
    for doc in rendered:
        validate(doc)
    hashed = re.compile(r"-[a-z0-9]{10}$")  # generated config maps and secrets carry a content hash
    names = {(d["kind"], hashed.sub("", d["metadata"]["name"]), d["metadata"].get("namespace")) for d in rendered}
    assert names == {(d["kind"], d["metadata"]["name"], d["metadata"].get("namespace")) for d in MANIFESTS}


@pytest.mark.parametrize(
    "doc",
    [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}, "spec": {"replicas": "two"}},
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "x"},
         "spec": {"minAvailible": 1}},
        {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "x"},
         "spec": {"scaleTargetRef": {"name": "x"}, "minReplicaCount": 1, "maxReplicaCount": 3,
                  "triggers": [{"type": "kafka", "metadata": {"consumerGroup": "g", "topic": "t", "lagThreshold": 5,
                                                              "bootstrapServersFromEnv": "K"}}]}},
    ],
    ids=["wrong-type", "misspelt-field", "keda-lag-not-a-string"],
)  # fmt: skip
def test_the_validation_catches_mistakes(doc: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        validate(doc)


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_runs_its_module_with_its_config_file(service: str) -> None:
    container = container_of(service)
    assert container["command"] == ["python", "-m", f"services.{service}"]
    env = {e["name"]: e for e in container.get("env", [])}
    config = Path(env["IR_CONFIG_FILE"]["value"])
    assert env["IR_INSTANCE_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"  # stable across restarts
    assert str(config.parent) in {m["mountPath"] for m in container["volumeMounts"]}
    assert k8s_config_file(service).exists()
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_tokens_and_channel_keys_reach_the_responder_pod_only() -> None:
    for name, workload in workloads().items():
        container = workload["spec"]["template"]["spec"]["containers"][0]
        secrets = {ref["secretRef"]["name"] for ref in container.get("envFrom", []) if "secretRef" in ref}
        assert ("incident-response-responder-secrets" in secrets) == (name == "responder"), name
        assert ("incident-response-collector-secrets" in secrets) == (name == "collector"), name


def test_topics_are_created_replicated_three_times_two_in_sync(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.settings import ServiceSettings
    from shared.topic_admin import topic_specs

    job = workloads()["create-topics"]["spec"]["template"]["spec"]["containers"][0]
    assert job["command"] == ["incidentctl", "create-topics"]
    env = {k: v for k, v in k8s_env("create-topics").items() if v is not None}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    specs = topic_specs(ServiceSettings.load())
    assert {(s.replication_factor, s.configs["min.insync.replicas"]) for s in specs} == {(3, "2")}


def test_rca_writes_its_reports_to_a_volume_its_user_can_write(monkeypatch: pytest.MonkeyPatch) -> None:
    """uid 10001 writes reports_dir: a claim mounted read-write, the pod's fsGroup the image user's group."""
    uid = int(re.search(r"^USER (\d+)$", (REPO / "Dockerfile").read_text(), re.M).group(1))  # type: ignore[union-attr]
    rca = load_settings("rca", k8s_env("rca"), k8s_config_file("rca"), monkeypatch)
    pod = workloads()["rca"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == uid and pod["securityContext"]["fsGroup"] == uid
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["mountPath"] == rca.reports_dir)
    assert not mount.get("readOnly", False)
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    claim = volume["persistentVolumeClaim"]["claimName"]
    assert claim in of_kind("PersistentVolumeClaim")
    responder = load_settings("responder", k8s_env("responder"), k8s_config_file("responder"), monkeypatch)
    rpod = workloads()["responder"]["spec"]["template"]["spec"]
    rmount = next(m for m in rpod["containers"][0]["volumeMounts"] if m["mountPath"] == responder.api.reports_dir)
    assert rmount["readOnly"] is True  # the API serves the same reports, never writes them
    assert (
        next(v for v in rpod["volumes"] if v["name"] == rmount["name"])["persistentVolumeClaim"]["claimName"] == claim
    )


@pytest.mark.parametrize("service", SCALED)
def test_keda_scales_each_stage_on_the_lag_of_the_groups_its_code_joins(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(service, k8s_env(service), k8s_config_file(service), monkeypatch)
    shared_groups = {
        (group, topic.removeprefix(settings.topic_prefix))
        for group, topic in subscriptions(service, settings)
        if settings.instance_id not in group  # per-instance groups (each pod reads everything) are no scaling signal
    }
    scaled = of_kind("ScaledObject")[service]["spec"]
    assert scaled["scaleTargetRef"]["name"] == service and service in of_kind("Deployment")
    triggers = {(t["metadata"]["consumerGroup"], t["metadata"]["topic"]) for t in scaled["triggers"]}
    assert triggers == shared_groups
    assert all(t["metadata"]["bootstrapServersFromEnv"] in k8s_env(service) for t in scaled["triggers"])
    assert 1 <= scaled["minReplicaCount"] <= scaled["maxReplicaCount"] <= min(PARTITIONS[t] for _, t in triggers)


def test_every_deployment_has_one_disruption_budget_that_leaves_a_pod() -> None:
    budgets = of_kind("PodDisruptionBudget").values()
    scaled = of_kind("ScaledObject")
    for name, deployment in of_kind("Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        mine = [b for b in budgets if b["spec"]["selector"]["matchLabels"].items() <= labels.items()]
        assert len(mine) == 1, name
        spec = mine[0]["spec"]
        least = scaled[name]["spec"]["minReplicaCount"] if name in scaled else deployment["spec"]["replicas"]
        if "minAvailable" in spec:
            assert 1 <= spec["minAvailable"] < least, name  # a drain can still move one pod
        else:
            assert spec["maxUnavailable"] == 1, name


def test_the_collector_runs_on_every_node_with_read_only_host_access(monkeypatch: pytest.MonkeyPatch) -> None:
    daemonset = of_kind("DaemonSet")["collector"]
    assert "collector" not in of_kind("Deployment")
    pod = daemonset["spec"]["template"]["spec"]
    assert pod["hostPID"] is True and not pod.get("hostNetwork") and not pod.get("hostIPC")
    container = pod["containers"][0]
    assert not container.get("securityContext", {}).get("privileged")
    host_volumes = {v["name"]: v["hostPath"]["path"] for v in pod["volumes"] if "hostPath" in v}
    host_mounts = [m for m in container["volumeMounts"] if m["name"] in host_volumes]
    assert host_mounts and all(m["readOnly"] is True for m in host_mounts)
    settings = load_settings("collector", k8s_env("collector"), k8s_config_file("collector"), monkeypatch)
    root_mount = next(m["mountPath"] for m in host_mounts if host_volumes[m["name"]] == "/")
    assert settings.disk_path == root_mount and settings.scrape_host  # the node's disk, not the container's
    node_name = next(e for e in container["env"] if e["name"] == "COLLECTOR_HOST_NAME")
    assert node_name["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    state = next(m for m in container["volumeMounts"] if m["mountPath"] == str(settings.log_state_dir))
    assert not state.get("readOnly") and state["name"] not in host_volumes


def test_rbac_grants_nothing_the_catalog_does_not_use() -> None:
    assert not of_kind("ClusterRole") and not of_kind("ClusterRoleBinding")
    accounts = of_kind("ServiceAccount")
    for name, workload in workloads().items():
        pod = workload["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] == name and name in accounts, name
        assert pod["automountServiceAccountToken"] is False, name  # no service calls the Kubernetes API
    kubernetes_actions = [f for f in RecoverySettings.model_fields if "kube" in f or "deployment" in f]
    roles = of_kind("Role")
    assert set(roles) == {"recovery"}
    assert kubernetes_actions or roles["recovery"]["rules"] == []  # the catalog has no Kubernetes action yet
    for role in roles.values():
        for rule in role["rules"]:
            assert "*" not in rule["verbs"] and "*" not in rule["resources"]
    binding = of_kind("RoleBinding")["recovery"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "recovery"}]


# --- NetworkPolicy semantics, enough of them to check what each pod may reach -----------------------------

NS = "incident-response"


def _selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return True
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expr in selector.get("matchExpressions", []):
        present = expr["key"] in labels
        if expr["operator"] == "In" and labels.get(expr["key"]) not in expr["values"]:
            return False
        if expr["operator"] == "NotIn" and labels.get(expr["key"]) in expr["values"]:
            return False
        if expr["operator"] == "Exists" and not present:
            return False
    return True


def _peer_matches(peer: dict[str, Any], ns: str, pod: dict[str, str] | None, ip: str | None) -> bool:
    if "ipBlock" in peer:
        if ip is None:
            return False
        block = peer["ipBlock"]
        net = ipaddress.ip_address(ip)
        return net in ipaddress.ip_network(block["cidr"]) and not any(
            net in ipaddress.ip_network(e) for e in block.get("except", [])
        )
    if pod is None:
        return False
    ns_labels = {"kubernetes.io/metadata.name": ns}
    if "namespaceSelector" in peer:
        return _selects(peer["namespaceSelector"], ns_labels) and _selects(peer.get("podSelector"), pod)
    return ns == NS and _selects(peer["podSelector"], pod)


def allowed(
    pod: dict[str, str], direction: str, port: int, *, ns: str = "elsewhere",
    peer: dict[str, str] | None = None, ip: str | None = None, protocol: str = "TCP",
) -> bool:  # fmt: skip
    """Whether the NetworkPolicies let ``pod`` (in our namespace) talk ``direction`` with the peer on ``port``."""
    policy_type = "Ingress" if direction == "ingress" else "Egress"
    selecting = [
        p["spec"] for p in of_kind("NetworkPolicy").values()
        if _selects(p["spec"]["podSelector"], pod) and policy_type in p["spec"]["policyTypes"]
    ]  # fmt: skip
    if not selecting:
        return True
    side = "from" if direction == "ingress" else "to"
    for spec in selecting:
        for rule in spec.get(direction, []):
            peers_ok = ("from" not in rule and "to" not in rule) or any(
                _peer_matches(p, ns, peer, ip) for p in rule.get(side, [])
            )
            ports = rule.get("ports")
            ports_ok = not ports or any(p["port"] == port and p.get("protocol", "TCP") == protocol for p in ports)
            if peers_ok and ports_ok:
                return True
    return False


def pod_labels(name: str) -> dict[str, str]:
    labels: dict[str, str] = workloads()[name]["spec"]["template"]["metadata"]["labels"]
    return labels


ANY_POD = {"app": "anything"}
USES_ELASTICSEARCH = {"collector", "detector", "rca"}


@pytest.mark.parametrize("name", [*SERVICES, "create-topics"])
def test_network_policies_allow_each_workload_only_what_it_needs(name: str) -> None:
    pod = pod_labels(name)
    # default deny: nothing unlisted in or out
    assert not allowed(pod, "egress", 5432, ns="db", peer=ANY_POD)
    assert not allowed(pod, "ingress", 8080, ns="default", peer=ANY_POD) or name == "responder"
    # every workload: DNS and the brokers
    assert allowed(pod, "egress", 53, ns="kube-system", peer={"k8s-app": "kube-dns"}, protocol="UDP")
    assert allowed(pod, "egress", 9092, ns="kafka", peer={"app": "kafka"})
    assert not allowed(pod, "egress", 9092, ns="default", peer=ANY_POD)
    # Elasticsearch only where it is used
    assert allowed(pod, "egress", 9200, ns="elastic", peer={"app": "es"}) == (name in USES_ELASTICSEARCH)
    # outside HTTPS: notifications (responder) and the fallback page (collector)
    assert allowed(pod, "egress", 443, ip="203.0.113.7") == (name in ("responder", "collector"))
    if name in SERVICES:  # Prometheus scrapes every service, from its namespace only
        assert allowed(pod, "ingress", 8080, ns="monitoring", peer={"app": "prometheus"})
    assert allowed(pod, "ingress", 8080, ns="default", peer=ANY_POD) == (name == "responder")  # the API


def test_service_ports_reach_the_pods() -> None:
    responder = of_kind("Service")["responder"]
    assert responder["spec"]["selector"].items() <= pod_labels("responder").items()
    ports = {p["name"] for p in container_of("responder")["ports"]}
    assert {p["targetPort"] for p in responder["spec"]["ports"]} <= ports


def test_pods_run_unprivileged() -> None:
    for name, workload in workloads().items():
        for pod in pod_specs(workload):
            assert pod["securityContext"]["runAsNonRoot"] is True, name
            for c in pod["containers"]:
                assert c["securityContext"]["allowPrivilegeEscalation"] is False, name
                assert c["securityContext"]["capabilities"]["drop"] == ["ALL"], name


def test_a_pod_nobody_planned_for_is_denied_both_ways() -> None:
    stranger = {"app": "debug-shell"}
    assert not allowed(stranger, "egress", 443, ip="203.0.113.7")
    assert not allowed(stranger, "egress", 9092, ns="kafka", peer={"app": "kafka"})
    assert not allowed(stranger, "ingress", 8080, ns="default", peer=ANY_POD)
