"""How a service's pods are split into Deployments ("tracks") and which ones the Service selects.

A rolling service has one track. Delivery strategies (blue-green, canary) plan two tracks
over the same MicroService building blocks; only this planning differs between them.
"""

from __future__ import annotations

from dataclasses import dataclass

from platform_config.models import Autoscaling, DisruptionBudget, ServiceSpec

from .workload import Track


@dataclass(frozen=True)
class TrackPlan:
    track: Track
    autoscaling: Autoscaling | None
    budget: DisruptionBudget | None

    @property
    def min_replicas(self) -> int:
        if self.track.replicas is not None:
            return self.track.replicas
        return self.autoscaling.min_replicas if self.autoscaling else 0


@dataclass(frozen=True)
class DeliveryPlan:
    tracks: tuple[TrackPlan, ...]
    service_selector: dict[str, str]


def rolling_plan(name: str, spec: ServiceSpec) -> DeliveryPlan:
    autoscaled = spec.autoscaling.enabled
    track = Track(deployment_name=name, version=None, tag=spec.tag,
                  replicas=None if autoscaled else spec.replicas)
    budget = spec.disruption_budget if spec.disruption_budget.enabled else None
    return DeliveryPlan(
        tracks=(TrackPlan(track, spec.autoscaling if autoscaled else None, budget),),
        service_selector={"app": name},
    )
