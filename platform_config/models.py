"""Typed models of a stack's configuration.

Everything a component needs is parsed and checked here, once, before any resource is
registered. Keys are camelCase in YAML, like the Kubernetes API; models are frozen so a
component cannot change what another one reads.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from .merge import deep_merge
from .quantities import QuantityError, canonical_quantity

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
HTTP_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
ENV_VAR_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
IMAGE_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
PROBE_PATH = re.compile(r"^/[^\s]*$")


def _without_cleared(value: Any) -> Any:
    """`null` clears an inherited entry of a name -> text map (an env var, a label), or the whole map,
    as the layering promises."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return {key: item for key, item in value.items() if item is not None}
    return value


# A map of names to text (env, labels, annotations, config data) in which `KEY: null` removes KEY.
StringMap = Annotated[dict[str, str], BeforeValidator(_without_cleared)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


def _dns_label(value: str) -> str:
    if len(value) > 63 or not DNS1123_LABEL.match(value):
        raise ValueError(
            f"'{value}' is not a valid DNS-1123 label: use at most 63 lower-case letters, digits "
            "and '-', starting and ending with a letter or digit"
        )
    return value


def _pinned(value: str) -> str:
    if value == "latest" or not IMAGE_TAG.match(value):
        raise ValueError(f"'{value}' is not a pinned image tag: use a release tag such as 1.0.0 "
                         "('latest' is never allowed)")
    return value


def _quantity(value: str | int | float) -> str:
    try:
        canonical = canonical_quantity(value)
    except QuantityError as error:
        raise ValueError(str(error)) from None
    # The grammar allows a sign, but no amount this config sets (resources, sizes, quotas) may be negative.
    if canonical.startswith("-"):
        raise ValueError(f"'{value}' is negative: write an amount of zero or more, such as 500m or 512Mi")
    return canonical


Name = Annotated[str, Field(min_length=1)]


class ResourceAmounts(Model):
    cpu: str | None = None
    memory: str | None = None
    ephemeral_storage: str | None = Field(default=None, alias="ephemeral-storage")

    _canonical = field_validator("cpu", "memory", "ephemeral_storage", mode="before")(
        lambda value: None if value is None else _quantity(value)
    )

    def as_dict(self) -> dict[str, str]:
        return {key: value for key, value in self.model_dump(by_alias=True).items() if value is not None}


class Resources(Model):
    requests: ResourceAmounts
    limits: ResourceAmounts

    def as_dict(self) -> dict[str, dict[str, str]]:
        return {"requests": self.requests.as_dict(), "limits": self.limits.as_dict()}


class Probe(Model):
    path: str
    port: str | int = "http"
    initial_delay_seconds: int = Field(default=0, ge=0)
    period_seconds: int = Field(default=10, ge=1)
    timeout_seconds: int = Field(default=1, ge=1)
    success_threshold: int = Field(default=1, ge=1)
    failure_threshold: int = Field(default=3, ge=1)

    @field_validator("path")
    @classmethod
    def _absolute_path(cls, value: str) -> str:
        if not PROBE_PATH.match(value):
            raise ValueError(f"'{value}' is not an absolute HTTP path: start it with '/'")
        return value


class Probes(Model):
    startup: Probe
    liveness: Probe
    readiness: Probe


class RollingUpdate(Model):
    max_surge: int | str = 1
    max_unavailable: int | str = 0


class Lifecycle(Model):
    pre_stop_sleep_seconds: int = Field(default=10, ge=0)
    termination_grace_period_seconds: int = Field(default=30, ge=1)


class PodSecurity(Model):
    run_as_user: int = Field(default=10001, ge=1)
    run_as_group: int = Field(default=10001, ge=1)
    fs_group: int = Field(default=10001, ge=1)


class ScalingPolicy(Model):
    type: Literal["Pods", "Percent"]
    value: int = Field(ge=1)
    period_seconds: int = Field(default=60, ge=1, le=1800)


class ScalingRules(Model):
    stabilization_window_seconds: int = Field(default=0, ge=0, le=3600)
    select_policy: Literal["Max", "Min", "Disabled"] = "Max"
    policies: list[ScalingPolicy] = Field(min_length=1)


class ScalingBehavior(Model):
    scale_up: ScalingRules
    scale_down: ScalingRules


class PodsMetric(Model):
    """A per-pod custom metric, served by a metrics adapter (e.g. prometheus-adapter)."""

    name: Name
    average_value: str

    _canonical = field_validator("average_value", mode="before")(lambda value: _quantity(value))


class Autoscaling(Model):
    enabled: bool = True
    min_replicas: int = Field(default=3, ge=1)
    max_replicas: int = Field(default=10, ge=1)
    cpu_utilization: int | None = Field(default=70, ge=1, le=100)
    memory_utilization: int | None = Field(default=80, ge=1, le=100)
    pods_metrics: list[PodsMetric] = []
    behavior: ScalingBehavior | None = None

    @property
    def scaled_resources(self) -> set[str]:
        return {name for name, target in (("cpu", self.cpu_utilization), ("memory", self.memory_utilization))
                if target is not None}


class VerticalAutoscaling(Model):
    enabled: bool = False
    update_mode: Literal["Off", "Initial", "Recreate", "InPlaceOrRecreate", "Auto"] = "Off"
    min_allowed: ResourceAmounts | None = None
    max_allowed: ResourceAmounts | None = None
    controlled_resources: list[Literal["cpu", "memory"]] = ["cpu", "memory"]


class DisruptionBudget(Model):
    enabled: bool = True
    min_available: int | None = Field(default=None, ge=0)
    max_unavailable: int | None = Field(default=None, ge=1)
    unhealthy_pod_eviction_policy: Literal["AlwaysAllow", "IfHealthyBudget"] = "AlwaysAllow"


SecretSource = Literal["generated", "provided", "external", "static"]


class SecretKey(Model):
    """Where one key of a Secret gets its value.

    ``static`` is for values that are not sensitive but belong in the Secret (a database user
    name); every other source keeps the value out of the stack files.
    """

    source: SecretSource | None = None
    length: int = Field(default=32, ge=16, le=256)
    special: bool = False
    config_key: str | None = None
    remote_property: str | None = None
    value: str | None = None
    env: str | None = None


class SecretSpec(Model):
    name: str | None = None
    source: SecretSource | None = None
    keys: dict[str, SecretKey] = Field(min_length=1)
    remote_path: str | None = None

    def source_of(self, key: SecretKey, platform_default: str) -> str:
        return key.source or self.source or platform_default

    def secret_name(self, service: str) -> str:
        return self.name or f"{service}-secrets"


class Claim(Model):
    """A PersistentVolumeClaim in the service's namespace, e.g. for the service's database."""

    size: str
    storage_class: str
    access_mode: Literal["ReadWriteOnce", "ReadWriteOncePod", "ReadOnlyMany", "ReadWriteMany"] = "ReadWriteOnce"
    mount_path: str | None = None

    _canonical = field_validator("size", mode="before")(lambda value: _quantity(value))


class IngressRoute(Model):
    host: str
    path: str = "/"
    tls_secret: str | None = None
    rate_limit_rps: int | None = Field(default=None, ge=1)
    rate_limit_rpm: int | None = Field(default=None, ge=1)


class HelperProbes(Model):
    startup: Probe | None = None
    liveness: Probe
    readiness: Probe


class Container(Model):
    """A sidecar or init container that runs beside the service's own container.

    ``mounts`` maps a writable path of the service (``writablePaths``) to where this container
    sees it; ``configFiles`` become a ConfigMap of its own, mounted at ``configMountPath``.
    """

    name: str
    image: str
    tag: str
    args: list[str] = []
    command: list[str] = []
    env: StringMap = {}
    resources: Resources
    mounts: StringMap = {}
    ports: dict[str, int] = {}
    probes: HelperProbes | None = None
    config_files: StringMap = {}
    config_mount_path: str | None = None

    _name = field_validator("name")(lambda value: _dns_label(value))
    _tag = field_validator("tag")(lambda value: _pinned(value))


class RbacRule(Model):
    api_groups: list[str] = [""]
    resources: list[str] = Field(min_length=1)
    verbs: list[Literal["get", "list", "watch", "create", "update", "patch", "delete"]] = Field(min_length=1)
    resource_names: list[str] = []


class ServiceMonitorSpec(Model):
    enabled: bool = True
    path: str = "/metrics"
    interval: str = "30s"
    scrape_timeout: str | None = None
    relabelings: list[dict] = []


class MetricNames(Model):
    """PromQL metric names (or selectors) the service exposes; alerts and dashboards use them.

    Defaults are Micrometer's (Spring Boot); a Node.js service names its own (seed 004).
    """

    requests_total: str = "http_server_requests_seconds_count"
    request_duration_bucket: str = "http_server_requests_seconds_bucket"
    status_label: str = "status"
    database_errors: str = "hikaricp_connections_timeout_total"
    redis_errors: str = "redis_connection_errors_total"
    cache_hits: str = 'cache_gets_total{result="hit"}'
    cache_misses: str = 'cache_gets_total{result="miss"}'
    batch_failures: str = 'spring_batch_job_seconds_count{status="FAILED"}'


class AlertThresholds(Model):
    cpu_ratio: float = Field(default=0.80, gt=0, le=1)
    memory_ratio: float = Field(default=0.85, gt=0, le=1)
    restarts_per_minute: float = Field(default=0.1, gt=0)
    p95_latency_seconds: float = Field(default=1.0, gt=0)
    error_ratio: float = Field(default=0.05, gt=0, le=1)
    cache_hit_ratio: float = Field(default=0.70, gt=0, le=1)
    batch_failures_per_minute: float = Field(default=0.1, gt=0)


class CustomAlert(Model):
    alert: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    expr: str = Field(min_length=1)
    for_: str = Field(default="5m", alias="for")
    severity: Literal["critical", "warning", "info"] = "warning"
    summary: str
    description: str
    runbook: str | None = None


class Alerts(Model):
    enabled: bool = True
    thresholds: AlertThresholds = AlertThresholds()
    extra: list[CustomAlert] = []


class Observability(Model):
    metrics_path: str = "/metrics"
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    service_monitor: ServiceMonitorSpec = ServiceMonitorSpec()
    metrics: MetricNames = MetricNames()
    alerts: Alerts = Alerts()
    dashboard: bool = True
    tracing: bool = True


CONTROLLER_OWNED_ANNOTATIONS = ("deployment.kubernetes.io/revision",)


def _annotations(value: dict[str, str]) -> dict[str, str]:
    for key in value:
        if key in CONTROLLER_OWNED_ANNOTATIONS:
            raise ValueError(f"'{key}' is set by the Deployment controller and must not be written by hand: "
                             "record the release in kubernetes.io/change-cause instead")
    return value


class Colour(Model):
    """One colour of a blue-green pair. A colour without a tag is not deployed."""

    tag: str | None = None
    replicas: int | None = Field(default=None, ge=0)
    annotations: StringMap = {}

    _tag = field_validator("tag")(lambda value: None if value is None else _pinned(value))
    _owned = field_validator("annotations")(lambda value: _annotations(value))


class BlueGreen(Model):
    active: Literal["blue", "green"] = "blue"
    blue: Colour = Colour()
    green: Colour = Colour()

    @property
    def idle(self) -> str:
        return "green" if self.active == "blue" else "blue"

    def colour(self, name: str) -> Colour:
        return self.blue if name == "blue" else self.green


class ConnectionPool(Model):
    max_connections: int = Field(default=100, ge=1)
    http1_max_pending_requests: int = Field(default=100, ge=1)
    http2_max_requests: int = Field(default=1000, ge=1)
    max_requests_per_connection: int = Field(default=10, ge=1)


class OutlierDetection(Model):
    consecutive5xx_errors: int = Field(default=5, ge=1, alias="consecutive5xxErrors")
    interval: str = "30s"
    base_ejection_time: str = "30s"
    max_ejection_percent: int = Field(default=50, ge=1, le=100)


class TrafficPolicy(Model):
    """The circuit breaker of the DestinationRule (seed 002)."""

    connection_pool: ConnectionPool = ConnectionPool()
    outlier_detection: OutlierDetection = OutlierDetection()
    consistent_hash: Literal["none", "sourceIp", "cookie"] = "none"
    hash_cookie: str = "micropay-session"
    hash_cookie_ttl: str = "3600s"


class Canary(Model):
    """The canary track of an Istio canary. Without a tag there is no canary."""

    tag: str | None = None
    weight: int = Field(default=0, ge=0, le=100)
    replicas: int | None = Field(default=None, ge=0)
    header: str = "canary"
    header_value: str = "true"
    # The weights the release goes through (seed 001: 10, 50, 100). Capacity is proven for the
    # canary at the largest one, so a release never stalls half-way on the namespace quota.
    steps: list[Annotated[int, Field(ge=1, le=100)]] = Field(default=[10, 50, 100], min_length=1)
    autoscaling: Autoscaling | None = None
    disruption_budget: DisruptionBudget | None = None
    annotations: StringMap = {}
    traffic_policy: TrafficPolicy = TrafficPolicy()
    # Settings in which the canary's pods differ from the stable ones (any service keys: resources,
    # env, probes, labels, lifecycle...), merged over the service's own.
    overrides: dict[str, Any] = {}

    _tag = field_validator("tag")(lambda value: None if value is None else _pinned(value))
    _owned = field_validator("annotations")(lambda value: _annotations(value))

    @field_validator("header")
    @classmethod
    def _header_name(cls, value: str) -> str:
        if not HTTP_HEADER_NAME.match(value):
            raise ValueError(f"'{value}' is not a valid HTTP header name: use letters, digits and '-'")
        return value.lower()


class ServiceSpec(Model):
    """One service of the catalog, after stack overrides are merged in."""

    namespace: str
    image: str
    tag: str
    port: int = Field(ge=1, le=65535)
    service_port: int | None = Field(default=None, ge=1, le=65535)
    delivery: Literal["rolling", "blueGreen", "canary"] = "rolling"
    replicas: int = Field(default=3, ge=1)
    labels: StringMap = {}
    annotations: StringMap = {}
    strategy: RollingUpdate = RollingUpdate()
    resources: Resources
    probes: Probes
    lifecycle: Lifecycle = Lifecycle()
    security: PodSecurity = PodSecurity()
    env: StringMap = {}
    config_files: StringMap = {}
    config_mount_path: str = "/config"
    config_data: StringMap = {}
    config_env: StringMap = {}
    secrets: list[SecretSpec] = []
    autoscaling: Autoscaling = Autoscaling()
    vertical_autoscaling: VerticalAutoscaling = VerticalAutoscaling()
    disruption_budget: DisruptionBudget = DisruptionBudget()
    callers: list[str] = []
    dependencies: list[str] = []
    rbac: list[RbacRule] = []
    claims: dict[str, Claim] = {}
    writable_paths: list[str] = ["/tmp"]
    ingress: IngressRoute | None = None
    sidecars: list[Container] = []
    init_containers: list[Container] = []
    anti_affinity: Literal["preferred", "required", "none"] = "preferred"
    session_affinity_timeout_seconds: int | None = Field(default=None, ge=1, le=86400)
    # Scanner findings this service accepts on purpose: check ID -> reason (rendered as
    # `checkov.io/skip` annotations on its Deployments, so the exception is visible in review).
    scanner_exceptions: StringMap = {}
    blue_green: BlueGreen | None = None
    canary: Canary = Canary()
    pod_annotations: StringMap = {}
    observability: Observability = Observability()

    _namespace = field_validator("namespace")(lambda value: _dns_label(value))

    _tag = field_validator("tag")(lambda value: _pinned(value))
    _owned = field_validator("annotations")(lambda value: _annotations(value))

    @field_validator("env", "config_env")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not ENV_VAR_NAME.match(name):
                raise ValueError(f"'{name}' is not a valid environment variable name")
        return value

    @field_validator("scanner_exceptions")
    @classmethod
    def _reasoned(cls, value: dict[str, str]) -> dict[str, str]:
        for check, reason in value.items():
            if not re.match(r"^CKV2?_K8S_\d+$", check):
                raise ValueError(f"'{check}' is not a checkov Kubernetes check ID (CKV_K8S_<n>)")
            if len(reason.strip()) < 20:
                raise ValueError(f"scannerExceptions.{check}: give the reason for the exception in a sentence")
        return value

    def canary_spec(self) -> "ServiceSpec":
        """The service as the canary's pods run it: the service's settings with canary.overrides."""
        if not self.canary.overrides:
            return self
        base = self.model_dump(by_alias=True, exclude={"canary", "blue_green"})
        return ServiceSpec.model_validate({**deep_merge(base, self.canary.overrides), "delivery": "rolling"})

    @property
    def colours(self) -> BlueGreen:
        """The blue-green settings; a service that never switched runs its tag on blue."""
        return self.blue_green or BlueGreen(active="blue", blue=Colour(tag=self.tag))

    @property
    def api_access(self) -> bool:
        return bool(self.rbac)

    @property
    def exposed_port(self) -> int:
        return self.service_port or self.port


class Endpoint(Model):
    """Something outside the catalog that services call: in-cluster pods or a managed service."""

    port: int = Field(ge=1, le=65535)
    host: str | None = None
    namespace: str | None = None
    pod_labels: StringMap = {}
    cidr: str | None = None
    protocol: Literal["TCP", "UDP"] = "TCP"

    @model_validator(mode="after")
    def _reachable(self) -> "Endpoint":
        in_cluster = self.namespace is not None and bool(self.pod_labels)
        if in_cluster == (self.cidr is not None):
            raise ValueError("give either namespace with podLabels (in-cluster) or cidr (managed service)")
        return self


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
    holds_state: bool = False
    # Set (to the reason) to accept that a release step (the idle colour at the active colour's
    # size, a canary at its largest step) needs more than the quota; the serving tracks at their
    # autoscaler maximum must still fit. Unset, the program refuses such a stack.
    accept_release_above_quota: str | None = Field(default=None, min_length=10)


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


class Tracing(Model):
    """OpenTelemetry export settings handed to every pod as OTEL_* env."""

    endpoint: str
    protocol: Literal["grpc", "http/protobuf"] = "grpc"
    sampler_ratio: float = Field(default=0.1, ge=0, le=1)
    collector: str | None = None


class ObservabilitySettings(Model):
    service_monitors: bool = True
    alerts: bool = True
    dashboards: bool = True
    runbook_base_url: str = "https://runbooks.micropay.com/alerts"
    monitor_labels: StringMap = {"release": "kube-prometheus-stack"}
    tracing: Tracing | None = None


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
    protect_state: bool = False
    scrape_from: Peer | None = Peer(namespace="monitoring",
                                    pod_labels={"app.kubernetes.io/name": "prometheus"})
    ingress_from: Peer | None = Peer(namespace="ingress-nginx",
                                     pod_labels={"app.kubernetes.io/name": "ingress-nginx"})
    ingress_class: str = "nginx"
    cluster_issuer: str | None = None
    dns_namespace: str = "kube-system"
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
