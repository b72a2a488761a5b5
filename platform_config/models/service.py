"""One service of the catalog, after stack overrides are merged in.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from ..merge import deep_merge
from .base import Model, StringMap, _annotations, _dns_label, _pinned
from .delivery import BlueGreen, Canary, Colour
from .observability import Observability
from .secrets import SecretSpec
from .workload import (Autoscaling, Claim, Container, DisruptionBudget, IngressRoute, Lifecycle, PodSecurity,
                       Probes, ProxyResources, RbacRule, Resources, RollingUpdate, VerticalAutoscaling)


class ServiceSpec(Model):
    """One service of the catalog, after stack overrides are merged in."""

    namespace: str
    image: str
    tag: str
    port: int = Field(ge=1, le=65535, description="The port the container listens on.")
    service_port: int | None = Field(default=None, ge=1, le=65535,
                                     description="The port the Service exposes; the container port when unset.")
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
    config_mount_path: str = Field(default="/config", description="Where configFiles are mounted, one file each.")
    config_data: StringMap = {}
    config_env: StringMap = Field(default={}, description="Env var -> configData key: the variable reads that key "
                                                          "of the service's ConfigMap.")
    secrets: list[SecretSpec] = []
    autoscaling: Autoscaling = Autoscaling()
    vertical_autoscaling: VerticalAutoscaling = VerticalAutoscaling()
    disruption_budget: DisruptionBudget = DisruptionBudget()
    callers: list[str] = Field(default=[], description=(
        "Peers (or services) allowed to connect besides those that list this service under dependencies, "
        "which are admitted already."))
    dependencies: list[str] = Field(default=[], description=(
        "Services and endpoints this one calls: its NetworkPolicy egress, and their ingress from it."))
    rbac: list[RbacRule] = []
    claims: dict[str, Claim] = {}
    writable_paths: list[str] = Field(default=["/tmp"], description=(
        "The only writable directories (an emptyDir each); the root filesystem is read-only."))
    ingress: IngressRoute | None = None
    sidecars: list[Container] = []
    init_containers: list[Container] = []
    anti_affinity: Literal["preferred", "required", "none"] = "preferred"
    session_affinity_timeout_seconds: int | None = Field(default=None, ge=1, le=86400)
    scanner_exceptions: StringMap = Field(default={}, description=(
        "Scanner findings accepted on purpose: checkov check ID -> reason, rendered as checkov.io/skip "
        "annotations on the Deployments so the exception shows in review."))
    blue_green: BlueGreen | None = None
    canary: Canary = Canary()
    pod_annotations: StringMap = Field(default={}, description="Annotations of the pods (annotations: of "
                                                                "the Deployment).")
    proxy_resources: ProxyResources | None = Field(default=None, description=(
        "Requests and limits of this service's istio-proxy, instead of platform.mesh.proxyResources (a busy "
        "gateway's proxy needs more)."))
    observability: Observability = Observability()

    _namespace = field_validator("namespace")(lambda value: _dns_label(value))

    _tag = field_validator("tag")(lambda value: _pinned(value))
    _owned = field_validator("annotations")(lambda value: _annotations(value))

    @field_validator("scanner_exceptions")
    @classmethod
    def _reasoned(cls, value: dict[str, str]) -> dict[str, str]:
        for check, reason in value.items():
            if not re.fullmatch(r"CKV2?_K8S_\d+", check):
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
