"""How a service's pods are split into Deployments ("tracks") and which ones the Service selects.

A rolling service has one track. Delivery strategies (blue-green, canary) plan two tracks
over the same MicroService building blocks; only this planning differs between them.
"""

from __future__ import annotations

from dataclasses import dataclass

from platform_config.models import Autoscaling, DisruptionBudget, ServiceSpec

from .workload import Track


# The tracks (pods' `version` label) each strategy can run, whether or not they run right now.
BLUE_GREEN_TRACKS = ("blue", "green")
CANARY_TRACKS = ("stable", "canary")
STRATEGY_TRACKS = {"rolling": (), "blueGreen": BLUE_GREEN_TRACKS, "canary": CANARY_TRACKS}


@dataclass(frozen=True)
class TrackPlan:
    track: Track
    autoscaling: Autoscaling | None
    budget: DisruptionBudget | None
    spec: ServiceSpec

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
                  replicas=None if autoscaled else spec.replicas, annotations=dict(spec.annotations))
    budget = spec.disruption_budget if spec.disruption_budget.enabled else None
    return DeliveryPlan(
        tracks=(TrackPlan(track, spec.autoscaling if autoscaled else None, budget, spec),),
        service_selector={"app": name},
    )


def _floor(spec: ServiceSpec) -> int:
    return spec.autoscaling.min_replicas if spec.autoscaling.enabled else spec.replicas


def blue_green_plan(name: str, spec: ServiceSpec) -> DeliveryPlan:
    """Two colours, each with its own HPA and PDB; the Service selects the active colour.

    Each colour keeps its autoscaler through a switch, so the switch changes nothing but
    the Services' selectors. A colour scaled to 0 has no HPA (minReplicas cannot be 0).
    """
    colours = spec.colours
    plans = []
    for colour_name in ("blue", "green"):
        colour = colours.colour(colour_name)
        if colour.tag is None:
            continue
        scaled_down = colour.replicas == 0
        autoscaling = spec.autoscaling if spec.autoscaling.enabled and not scaled_down else None
        if autoscaling is not None:
            replicas = None
        else:
            replicas = colour.replicas if colour.replicas is not None else spec.replicas
        if autoscaling is not None and colour.replicas is not None:
            autoscaling = autoscaling.model_copy(update={"min_replicas": colour.replicas})
        track = Track(deployment_name=f"{name}-{colour_name}", version=colour_name, tag=colour.tag,
                      replicas=replicas, annotations={**spec.annotations, **colour.annotations})
        budget = spec.disruption_budget if spec.disruption_budget.enabled and not scaled_down else None
        plans.append(TrackPlan(track, autoscaling, budget, spec))
    return DeliveryPlan(tracks=tuple(plans), service_selector={"app": name, "version": colours.active})


def preview_colour(spec: ServiceSpec) -> str:
    """The colour the preview Service selects: the idle one while it runs, else the active one.

    As Argo Rollouts does, a preview with no idle pods points at the active colour, so the
    Service is never one that selects nothing (a finding of every linter, and a dead endpoint).
    """
    colours = spec.colours
    idle = colours.colour(colours.idle)
    return colours.idle if idle.tag is not None and idle.replicas != 0 else colours.active


CANARY_SUBSETS = ("stable", "canary")


def canary_replicas(spec: ServiceSpec) -> int:
    """Canary pods follow the weight (10% of a 3-pod floor is 1 pod) unless set explicitly."""
    canary = spec.canary
    if canary.replicas is not None:
        return canary.replicas
    if canary.autoscaling is not None and canary.autoscaling.enabled:
        return canary.autoscaling.min_replicas
    return canary_weight_replicas(spec, canary.weight)


def canary_weight_replicas(spec: ServiceSpec, weight: int) -> int:
    """Canary pods that follow a weight: its share of the stable floor, rounded up, at least 1.

    At 0 % too: while a canary image is set the header route sends to the canary, and with no pod
    behind it Istio answers those requests 503 (removing the tag is what retires the canary).
    """
    return max(1, -(-_floor(spec) * weight // 100))


def canary_plan(name: str, spec: ServiceSpec) -> DeliveryPlan:
    """A stable track (the service's own settings) and, when a canary tag is set, a canary track."""
    stable_autoscaled = spec.autoscaling.enabled
    stable = TrackPlan(
        Track(deployment_name=name, version="stable", tag=spec.tag,
              replicas=None if stable_autoscaled else spec.replicas, annotations=dict(spec.annotations)),
        spec.autoscaling if stable_autoscaled else None,
        spec.disruption_budget if spec.disruption_budget.enabled else None,
        spec,
    )
    canary = spec.canary
    if canary.tag is None:
        return DeliveryPlan(tracks=(stable,), service_selector={"app": name})
    count = canary_replicas(spec)
    autoscaling = canary.autoscaling if canary.autoscaling is not None and canary.autoscaling.enabled else None
    canary_track = TrackPlan(
        Track(deployment_name=f"{name}-canary", version="canary", tag=canary.tag,
              replicas=None if autoscaling and count > 0 else count, annotations=dict(canary.annotations)),
        autoscaling if count > 0 else None,
        canary.disruption_budget if canary.disruption_budget is not None and count > 0 else None,
        spec.canary_spec(),
    )
    return DeliveryPlan(tracks=(stable, canary_track), service_selector={"app": name})


def plan_for(name: str, spec: ServiceSpec) -> DeliveryPlan:
    planners = {"rolling": rolling_plan, "blueGreen": blue_green_plan, "canary": canary_plan}
    return planners[spec.delivery](name, spec)
