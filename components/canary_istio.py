"""CanaryIstio: a stable and a canary track behind one Service, split by Istio weights.

The VirtualService sends requests carrying the canary header to the canary first (like
Flagger's header override), then splits the rest by the configured weight. Promotion is a
config change: raise the weight; finally make the canary tag the stable tag and drop it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.microservice import MicroService, MicroServiceArgs
from specs import istio as istio_specs
from specs import workload as workload_specs
from specs.delivery import CANARY_SUBSETS, canary_plan
from specs.metadata import object_metadata


@dataclass(frozen=True)
class CanaryIstioArgs:
    service: MicroServiceArgs


class CanaryIstio(pulumi.ComponentResource):
    workload: MicroService
    canary_weight: int
    stable_image: str
    canary_image: str | None

    def __init__(self, name: str, args: CanaryIstioArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("micropay:delivery:CanaryIstio", name, None, opts)
        base = args.service
        spec, service = base.spec, name
        plan = canary_plan(service, spec)
        self.workload = MicroService(name, dataclasses.replace(base, plan=plan),
                                     opts=pulumi.ResourceOptions(parent=self))
        has_canary = any(track_plan.track.version == "canary" for track_plan in plan.tracks)
        self.canary_weight = spec.canary.weight if has_canary else 0
        self.stable_image = f"{spec.image}:{spec.tag}"
        self.canary_image = f"{spec.image}:{spec.canary.tag}" if has_canary else None
        host = istio_specs.service_host(service, spec.namespace)
        metadata = object_metadata(service, spec.namespace, workload_specs.common_labels(service, spec))
        after_workload = pulumi.ResourceOptions(parent=self, depends_on=[self.workload])
        k8s.apiextensions.CustomResource(
            f"{name}-destination-rule", api_version="networking.istio.io/v1", kind="DestinationRule",
            metadata=metadata, spec=istio_specs.destination_rule(host, list(CANARY_SUBSETS), spec.canary.traffic_policy),
            opts=after_workload)
        k8s.apiextensions.CustomResource(
            f"{name}-virtual-service", api_version="networking.istio.io/v1", kind="VirtualService",
            metadata=metadata,
            spec=istio_specs.virtual_service(host, spec.exposed_port, spec.canary, has_canary),
            opts=after_workload)
        self.register_outputs(self.stack_outputs())

    def stack_outputs(self) -> dict[str, object]:
        """The workload's outputs and how far the canary has got."""
        return {**self.workload.stack_outputs(), "canaryWeight": self.canary_weight,
                "stableImage": self.stable_image, "canaryImage": self.canary_image}
