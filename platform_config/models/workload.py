"""How a service's pods run and scale: resources, probes, rollout, lifecycle, autoscalers, disruption
budget, volumes, ingress, helpers (sidecars, init containers) and API access. Shared by a service and its canary.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from .base import Model, Name, PROBE_PATH, StringMap, _dns_label, _pinned, _quantity


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


class ProxyAmounts(Model):
    """cpu and memory only: Istio's sidecar.istio.io/proxy* annotations carry nothing else."""

    cpu: str
    memory: str

    _canonical = field_validator("cpu", "memory", mode="before")(lambda value: _quantity(value))

    def as_dict(self) -> dict[str, str]:
        return {"cpu": self.cpu, "memory": self.memory}


class ProxyResources(Resources):
    """The requests and limits of the ``istio-proxy`` container the injector adds to a pod."""

    requests: ProxyAmounts
    limits: ProxyAmounts


# Istio's own default (istiod chart, global.proxy.resources), so stating it changes nothing on a
# default installation while making the amounts the capacity check counts the ones the pods get.
ISTIO_PROXY_RESOURCES = ProxyResources(requests=ProxyAmounts(cpu="100m", memory="128Mi"),
                                       limits=ProxyAmounts(cpu="2", memory="1Gi"))


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
        if not PROBE_PATH.fullmatch(value):
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
