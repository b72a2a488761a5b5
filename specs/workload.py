"""Pure builders for the Deployment of a service: pod template, containers, security.

Every function returns plain dicts in the Kubernetes API's own (camelCase) form, so tests
can check them without the Pulumi engine and the rendered YAML reads like a manifest.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from platform_config.models import Container, PlatformSettings, Probe, ServiceSpec

from .mesh import pod_annotations as mesh_pod_annotations
from .metadata import app_labels, object_metadata

TMP_VOLUME_PREFIX = "writable"
CONFIG_VOLUME = "config"
API_TOKEN_VOLUME = "kube-api-access"
API_TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
API_TOKEN_SECONDS = 3600
# Always re-check the registry: a tag can be re-pushed, and it proves the pod may still pull it.
PULL_POLICY = "Always"


@dataclass(frozen=True)
class Track:
    """One Deployment of a service: the only one (rolling) or a colour or a canary."""

    deployment_name: str
    version: str | None
    tag: str
    replicas: int | None
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def selector_extra(self) -> dict[str, str]:
        return {"version": self.version} if self.version else {}


def selector_labels(name: str, track: Track | None = None) -> dict[str, str]:
    return {"app": name, **(track.selector_extra if track else {})}


def common_labels(name: str, service: ServiceSpec, version: str | None = None) -> dict[str, str]:
    """Labels of every object of a service: `app` (what selectors use), the `app.kubernetes.io/*` set
    and the service's own labels."""
    return {"app": name, **app_labels(name, version), **service.labels}


def pod_labels(name: str, service: ServiceSpec, track: Track) -> dict[str, str]:
    return {**common_labels(name, service, track.tag), "version": track.version or track.tag}


def checksum(*documents) -> str:
    """A stable digest of configuration, put on the pod template so a change rolls the pods."""
    payload = json.dumps(documents, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def restricted_container_security() -> dict:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pod_security(service: ServiceSpec) -> dict:
    return {
        "runAsNonRoot": True,
        "runAsUser": service.security.run_as_user,
        "runAsGroup": service.security.run_as_group,
        "fsGroup": service.security.fs_group,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def probe(spec: Probe) -> dict:
    return {
        "httpGet": {"path": spec.path, "port": spec.port, "scheme": "HTTP"},
        "initialDelaySeconds": spec.initial_delay_seconds,
        "periodSeconds": spec.period_seconds,
        "timeoutSeconds": spec.timeout_seconds,
        "successThreshold": spec.success_threshold,
        "failureThreshold": spec.failure_threshold,
    }


def writable_volume_name(index: int) -> str:
    return f"{TMP_VOLUME_PREFIX}-{index}"


def container_ports(service: ServiceSpec) -> list[dict]:
    ports = [{"name": "http", "containerPort": service.port, "protocol": "TCP"}]
    metrics_port = service.observability.metrics_port
    if metrics_port and metrics_port != service.port:
        ports.append({"name": "metrics", "containerPort": metrics_port, "protocol": "TCP"})
    return ports


def env_list(plain: dict[str, str], secret_refs: dict[str, tuple[str, str]],
             config_refs: dict[str, tuple[str, str]] | None = None) -> list[dict]:
    """Plain values first, then ConfigMap keys, then values read from Secrets by reference (never inlined)."""
    variables = [{"name": key, "value": str(value)} for key, value in plain.items()]
    variables += [
        {"name": key, "valueFrom": {"configMapKeyRef": {"name": config_map, "key": config_key}}}
        for key, (config_map, config_key) in (config_refs or {}).items()
    ]
    variables += [
        {"name": key, "valueFrom": {"secretKeyRef": {"name": secret, "key": secret_key}}}
        for key, (secret, secret_key) in secret_refs.items()
    ]
    return variables


def main_container(name: str, service: ServiceSpec, track: Track, env: list[dict],
                   config_map: str | None) -> dict:
    mounts = [{"name": writable_volume_name(index), "mountPath": path}
              for index, path in enumerate(service.writable_paths)]
    if service.config_files:
        mounts.append({"name": CONFIG_VOLUME, "mountPath": service.config_mount_path, "readOnly": True})
    mounts += [{"name": claim, "mountPath": spec.mount_path}
               for claim, spec in service.claims.items() if spec.mount_path]
    if service.api_access:
        mounts.append({"name": API_TOKEN_VOLUME, "mountPath": API_TOKEN_PATH, "readOnly": True})
    container = {
        "name": name,
        "image": f"{service.image}:{track.tag}",
        "imagePullPolicy": PULL_POLICY,
        "ports": container_ports(service),
        "env": env,
        "resources": service.resources.as_dict(),
        "startupProbe": probe(service.probes.startup),
        "livenessProbe": probe(service.probes.liveness),
        "readinessProbe": probe(service.probes.readiness),
        "lifecycle": {"preStop": {"exec": {
            "command": ["/bin/sh", "-c", f"sleep {service.lifecycle.pre_stop_sleep_seconds}"]}}},
        "securityContext": restricted_container_security(),
        "volumeMounts": mounts,
    }
    if config_map and service.config_data:
        container["envFrom"] = [{"configMapRef": {"name": config_map}}]
    return container


def helper_config_map(service_name: str, container: Container) -> str:
    return f"{service_name}-{container.name}-config"


def helper_container(spec: Container, service: ServiceSpec) -> dict:
    """A sidecar or init container, held to the same restricted profile as the service."""
    writable = {path: writable_volume_name(index) for index, path in enumerate(service.writable_paths)}
    mounts = [{"name": writable[path], "mountPath": mount_at} for path, mount_at in spec.mounts.items()]
    if spec.config_files:
        mounts.append({"name": f"{spec.name}-config", "mountPath": spec.config_mount_path, "readOnly": True})
    container = {
        "name": spec.name,
        "image": f"{spec.image}:{spec.tag}",
        "imagePullPolicy": PULL_POLICY,
        "resources": spec.resources.as_dict(),
        "securityContext": restricted_container_security(),
        "volumeMounts": mounts,
    }
    if spec.command:
        container["command"] = list(spec.command)
    if spec.args:
        container["args"] = list(spec.args)
    if spec.env:
        container["env"] = env_list(spec.env, {})
    if spec.ports:
        container["ports"] = [{"name": name, "containerPort": port, "protocol": "TCP"}
                              for name, port in spec.ports.items()]
    if spec.probes:
        if spec.probes.startup:
            container["startupProbe"] = probe(spec.probes.startup)
        container["livenessProbe"] = probe(spec.probes.liveness)
        container["readinessProbe"] = probe(spec.probes.readiness)
    return container


def api_token_volume() -> dict:
    """The service account token, short-lived and bound to the pod, for the main container only."""
    return {"name": API_TOKEN_VOLUME, "projected": {"defaultMode": 0o444, "sources": [
        {"serviceAccountToken": {"path": "token", "expirationSeconds": API_TOKEN_SECONDS}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1",
                                                                      "fieldPath": "metadata.namespace"}}]}},
    ]}}


def volumes(name: str, service: ServiceSpec, config_map: str | None) -> list[dict]:
    result = [{"name": writable_volume_name(index), "emptyDir": {"sizeLimit": "1Gi"}}
              for index, _ in enumerate(service.writable_paths)]
    if service.config_files and config_map:
        result.append({"name": CONFIG_VOLUME, "configMap": {"name": config_map}})
    result += [{"name": claim, "persistentVolumeClaim": {"claimName": claim}}
               for claim, spec in service.claims.items() if spec.mount_path]
    result += [{"name": f"{helper.name}-config", "configMap": {"name": helper_config_map(name, helper)}}
               for helper in [*service.sidecars, *service.init_containers] if helper.config_files]
    if service.api_access:
        result.append(api_token_volume())
    return result


def scheduling(name: str, service: ServiceSpec, platform: PlatformSettings) -> dict:
    placement: dict = {}
    term = {"labelSelector": {"matchLabels": {"app": name}}, "topologyKey": "kubernetes.io/hostname"}
    if service.anti_affinity == "preferred":
        placement["affinity"] = {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "podAffinityTerm": term}]}}
    elif service.anti_affinity == "required":
        placement["affinity"] = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}
    if platform.topology.zone_spread:
        placement["topologySpreadConstraints"] = [{
            "maxSkew": platform.topology.max_skew,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": platform.topology.when_unsatisfiable,
            "labelSelector": {"matchLabels": {"app": name}},
        }]
    return placement


def scrape_annotations(service: ServiceSpec) -> dict[str, str]:
    return {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(service.observability.metrics_port or service.port),
        "prometheus.io/path": service.observability.metrics_path,
    }


def scanner_annotations(service: ServiceSpec) -> dict[str, str]:
    """checkov's in-manifest suppressions, one per accepted finding, with its reason."""
    return {f"checkov.io/skip{index}": f"{check}={reason}"
            for index, (check, reason) in enumerate(sorted(service.scanner_exceptions.items()), start=1)}


@dataclass(frozen=True)
class PodInputs:
    """What the pod template needs besides the service spec itself."""

    service_account: str
    config_map: str | None
    config_checksum: str
    env: list[dict]


def deployment(name: str, service: ServiceSpec, track: Track, platform: PlatformSettings,
               pod: PodInputs) -> dict:
    """The Deployment object (metadata and spec) of one track."""
    template_annotations = {
        **scrape_annotations(service),
        "checksum/config": pod.config_checksum,
        **service.pod_annotations,
        **mesh_pod_annotations(platform.mesh, service),
    }
    pod_spec = {
        "serviceAccountName": pod.service_account,
        # Never the legacy token in every container: API access gets a projected, expiring token
        # mounted into the main container only (see api_token_volume).
        "automountServiceAccountToken": False,
        "securityContext": pod_security(service),
        "terminationGracePeriodSeconds": service.lifecycle.termination_grace_period_seconds,
        "enableServiceLinks": False,
        "containers": [main_container(name, service, track, pod.env, pod.config_map)]
                      + [helper_container(sidecar, service) for sidecar in service.sidecars],
        "volumes": volumes(name, service, pod.config_map),
        **scheduling(name, service, platform),
    }
    if service.init_containers:
        pod_spec["initContainers"] = [helper_container(init, service) for init in service.init_containers]
    spec = {
        "revisionHistoryLimit": 10,
        "selector": {"matchLabels": selector_labels(name, track)},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {
            "maxSurge": service.strategy.max_surge, "maxUnavailable": service.strategy.max_unavailable}},
        "template": {
            "metadata": {"labels": pod_labels(name, service, track), "annotations": template_annotations},
            "spec": pod_spec,
        },
    }
    if track.replicas is not None:
        spec["replicas"] = track.replicas
    return {"metadata": object_metadata(track.deployment_name, service.namespace, pod_labels(name, service, track),
                                        {**track.annotations, **scanner_annotations(service)}),
            "spec": spec}
