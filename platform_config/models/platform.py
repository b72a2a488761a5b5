"""The environment around the services: platform settings, cluster, namespaces, endpoints, peers, mesh,
storage and backups, and the whole validated config of a stack.
"""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import Field, field_validator

from .base import Model, StringMap, _dns_label, _quantity
from .observability import ObservabilitySettings
from .secrets import SecretSource
from .service import ServiceSpec
from .workload import ISTIO_PROXY_RESOURCES, ProxyResources, ResourceAmounts


class Endpoint(Model):
    """Something outside the catalog that services call: in-cluster pods or a managed service."""

    port: int = Field(ge=1, le=65535)
    host: str | None = None
    namespace: str | None = None
    pod_labels: StringMap = {}
    cidr: str | None = None
    protocol: Literal["TCP", "UDP"] = "TCP"


class Peer(Model):
    """A caller outside the catalog, such as the ingress controller or Prometheus."""

    namespace: str
    pod_labels: StringMap = {}


class NamespaceQuota(Model):
    requests_cpu: str = "20"
    requests_memory: str = "40Gi"
    limits_cpu: str = "40"
    limits_memory: str = "80Gi"
    persistent_volume_claims: int = Field(default=10, ge=0)
    requests_storage: str | None = None
    services: int = Field(default=10, ge=0)
    pods: int = Field(default=20, ge=1)

    _canonical = field_validator("requests_cpu", "requests_memory", "limits_cpu", "limits_memory",
                                 "requests_storage", mode="before")(
        lambda value: None if value is None else _quantity(value))


class ContainerDefaults(Model):
    """The namespace's LimitRange for containers: defaults, and optional bounds and ratio."""

    default: ResourceAmounts = ResourceAmounts(cpu="2", memory="4Gi")
    default_request: ResourceAmounts = ResourceAmounts(cpu="500m", memory="1Gi")
    min: ResourceAmounts | None = None
    max: ResourceAmounts | None = None
    max_limit_request_ratio: ResourceAmounts | None = None


class NamespaceSpec(Model):
    quota: NamespaceQuota = NamespaceQuota()
    limits: ContainerDefaults = ContainerDefaults()
    holds_state: bool = Field(default=False, description=(
        "Data lives here: protected with platform.protectState and backed up with platform.backups."))
    accept_release_above_quota: str | None = Field(default=None, min_length=10, description=(
        "The reason to accept that a release step (the idle colour at the active colour's size, a canary at "
        "its largest step) needs more than the quota; the serving tracks at their autoscaler maximum must "
        "still fit. Unset, such a stack is refused."))


class Cluster(Model):
    """Where resources go: a real cluster (kubeconfig/context) or the render-to-directory mode."""

    kubeconfig: str | None = None
    context: str | None = None
    render_directory: str | None = None


class Topology(Model):
    zone_spread: bool = True
    max_skew: int = Field(default=1, ge=1)
    when_unsatisfiable: Literal["ScheduleAnyway", "DoNotSchedule"] = "ScheduleAnyway"


class Jwt(Model):
    """RequestAuthentication for the services that take traffic from outside (seed 002)."""

    issuer: str
    jwks_uri: str
    audiences: list[str] = []
    services: list[str] = Field(min_length=1)


class Mesh(Model):
    provider: Literal["istio", "linkerd", "none"] = "none"
    mtls: Literal["STRICT", "PERMISSIVE"] = "PERMISSIVE"
    jwt: Jwt | None = None
    proxy_resources: ProxyResources = Field(default=ISTIO_PROXY_RESOURCES, description=(
        "Requests and limits of the istio-proxy, written on every injected pod template as Istio's four "
        "sidecar.istio.io/proxy* annotations and counted by the capacity check."))


class StorageClassSpec(Model):
    provisioner: str
    parameters: StringMap = {}
    reclaim_policy: Literal["Retain", "Delete"] = "Retain"
    volume_binding_mode: Literal["WaitForFirstConsumer", "Immediate"] = "WaitForFirstConsumer"
    allow_volume_expansion: bool = True


class Backups(Model):
    """A Velero Schedule of the namespaces that hold state (seed 001: daily at 02:00 UTC, 30 days)."""

    enabled: bool = False
    schedule: str = "0 2 * * *"
    ttl: str = "720h0m0s"
    namespace: str = "velero"
    storage_location: str = "default"
    snapshot_volumes: bool = True


class PlatformSettings(Model):
    environment: Literal["production", "staging", "development"]
    topology: Topology = Topology()
    secret_source: SecretSource = "generated"
    secret_store: str = "micropay-secret-store"
    secret_refresh_interval: str = "1h"
    protect_state: bool = Field(default=False, description=(
        "Namespaces that hold state and every PVC get protect and retainOnDelete."))
    scrape_from: Peer | None = Peer(namespace="monitoring",
                                    pod_labels={"app.kubernetes.io/name": "prometheus"})
    ingress_from: Peer | None = Peer(namespace="ingress-nginx",
                                     pod_labels={"app.kubernetes.io/name": "ingress-nginx"})
    ingress_class: str = "nginx"
    cluster_issuer: str | None = None
    dns_namespace: str = Field(default="kube-system", description=(
        "Where the cluster DNS runs: every pod's NetworkPolicy lets it reach port 53 there."))
    mesh: Mesh = Mesh()
    observability: ObservabilitySettings = ObservabilitySettings()
    storage_classes: dict[str, StorageClassSpec] = {}
    create_storage_classes: bool = False
    backups: Backups = Backups()


class PlatformConfig(Model):
    """The whole validated configuration of one stack."""

    stack: str
    platform: PlatformSettings
    cluster: Cluster = Cluster()
    namespaces: dict[str, NamespaceSpec]
    endpoints: dict[str, Endpoint] = {}
    peers: dict[str, Peer] = {}
    services: dict[str, ServiceSpec]

    @cached_property
    def dependents(self) -> dict[str, frozenset[str]]:
        """service -> the services that list it under dependencies (computed once, not per service)."""
        index: dict[str, set[str]] = {}
        for name, service in self.services.items():
            for dependency in service.dependencies:
                index.setdefault(dependency, set()).add(name)
        return {name: frozenset(callers) for name, callers in index.items()}

    @field_validator("services", "namespaces")
    @classmethod
    def _dns_names(cls, value: dict) -> dict:
        for name in value:
            _dns_label(name)
        return value
