"""Capacity proven before apply: every namespace's peak demand against its ResourceQuota and LimitRange.

The figures are the ones quota admission computes. A pod counts, per resource, the larger of
the sum of its app containers (sidecars included) and its largest init container (init
containers run one at a time, before the app containers); requests and limits are summed
exactly (``Fraction`` of base units, as the API server's ``Quantity`` arithmetic does).

Peak demand per workload track: a rolling update at its autoscaler maximum (else its replicas),
counted by ``rollout_pods``: the surge pods plus the pods the rollout has just stopped, which the
quota still charges while they terminate. On top of that, what the delivery strategy runs at once:

* blue-green: during a switch the idle colour runs at the active colour's size, whether or not
  it is deployed yet (the release's first step puts it there);
* canary: the canary track at its largest configured step (``canary.steps``), pods following the
  weight as ``specs.delivery.canary_replicas`` does, beside the stable track at its maximum.

The part of the demand that only a release step adds is kept apart, so a namespace may accept it
knowingly (``namespaces.<name>.acceptReleaseAboveQuota``); the serving tracks must always fit.

On an Istio stack every pod not opted out of injection also runs ``istio-proxy``, sized by the
``sidecar.istio.io/proxy*`` annotations the program writes (``specs.mesh.injected_proxy``), and counted
as a native sidecar (Istio's default since 1.27): it runs beside every init container and every app
container, so a pod charges the proxy on top of max(app containers, largest init container). Istio's
own ``istio-init`` takes the same amounts and runs alone, so it never charges more.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

from platform_config.models import Container, Mesh, PlatformConfig, ProxyResources, ServiceSpec
from platform_config.quantities import BINARY_SI, DECIMAL_SI, format_quantity, quantity_value
from specs.delivery import TrackPlan, canary_weight_replicas, plan_for
from specs.mesh import injected_proxy
from specs.namespace import quota_hard

COMPUTE = ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory")
COUNTS = ("pods", "services", "persistentvolumeclaims")
# Quota key -> the stack key that sets it.
QUOTA_KEYS = {"requests.cpu": "requestsCpu", "requests.memory": "requestsMemory", "limits.cpu": "limitsCpu",
              "limits.memory": "limitsMemory", "pods": "pods", "services": "services",
              "persistentvolumeclaims": "persistentVolumeClaims", "requests.storage": "requestsStorage"}


def is_memory_like(key: str) -> bool:
    return key.endswith("memory") or key.endswith("storage")


def show(key: str, value: Fraction) -> str:
    """A figure as the API server writes it (``88``, ``8700m``, ``176Gi``)."""
    if key in COUNTS:
        return str(value)
    return format_quantity(value, BINARY_SI if is_memory_like(key) else DECIMAL_SI)


def pod_footprint(spec: ServiceSpec, proxy: ProxyResources | None = None) -> dict[str, Fraction]:
    """What one pod charges to the quota: max(sum of app containers, largest init container), plus the
    injected proxy, which runs beside both."""
    app = [spec.resources.as_dict(), *(sidecar.resources.as_dict() for sidecar in spec.sidecars)]
    init = [helper.resources.as_dict() for helper in spec.init_containers]
    footprint = {}
    for key in COMPUTE:
        section, resource = key.split(".")
        running = sum((quantity_value(amounts[section][resource]) for amounts in app), Fraction(0))
        starting = max((quantity_value(amounts[section][resource]) for amounts in init), default=Fraction(0))
        beside = quantity_value(proxy.as_dict()[section][resource]) if proxy else Fraction(0)
        footprint[key] = max(running, starting) + beside
    return footprint


def proxy_key(name: str, spec: ServiceSpec, prefix: str = "") -> str:
    """The key that sizes the service's istio-proxy: its own proxyResources, else the platform's."""
    return f"services.{name}.{prefix}proxyResources" if spec.proxy_resources else "platform.mesh.proxyResources"


def _scaled(value: int | str, replicas: int, round_up: bool) -> int:
    text = str(value)
    if not text.endswith("%"):
        return int(text)
    share = replicas * int(text[:-1]) / 100
    return math.ceil(share) if round_up else math.floor(share)


def surge(spec: ServiceSpec, replicas: int) -> int:
    """Extra pods a rollout may run: maxSurge, a percentage rounded up as the Deployment controller does."""
    if replicas == 0:
        return 0
    return _scaled(spec.strategy.max_surge, replicas, round_up=True)


def unavailable(spec: ServiceSpec, replicas: int) -> int:
    """maxUnavailable, a percentage rounded down; 1 when both fenceposts resolve to 0 (as the controller does)."""
    if replicas == 0:
        return 0
    value = _scaled(spec.strategy.max_unavailable, replicas, round_up=False)
    return 1 if value == 0 and surge(spec, replicas) == 0 else value


def rollout_pods(spec: ServiceSpec, replicas: int) -> int:
    """The most pods a rolling update of ``replicas`` pods has charged to the quota at once.

    Kubernetes 1.34's pod quota evaluator (``QuotaV1Pod``) keeps charging a terminating pod until it
    is gone (or its deletion timestamp plus grace period has passed), while the Deployment controller
    counts only ReplicaSet sizes: the moment it scales the old ReplicaSet down it scales the new one
    up to ``replicas + maxSurge`` again, before the stopped pods have left. One step stops at most
    ``maxSurge + maxUnavailable`` old pods (``allPods - (replicas - maxUnavailable)`` with the new ones
    available) and never more than the old ReplicaSet holds; the new ReplicaSet never exceeds
    ``replicas``. So with ``stopped`` pods terminating the charge is ``replicas`` old and new pods plus
    ``min(replicas, surge + stopped)``: 12 for 10 pods at maxSurge 1, maxUnavailable 0. A step waits
    for its new pods to become available; pods that take longer to stop than a new pod takes to be
    ready overlap the next step, and the quota then only delays that step's pods (the ReplicaSet
    retries them once the stopped pods are gone), which is why one step's worth is the figure.
    """
    return replicas + sum(rollout_extras(spec, replicas))


def rollout_extras(spec: ServiceSpec, replicas: int) -> tuple[int, int]:
    """(surge pods, terminating pods) beyond ``replicas`` at a rollout's fullest (see ``rollout_pods``)."""
    if replicas == 0:
        return 0, 0
    extra = surge(spec, replicas)
    stopped = min(extra + unavailable(spec, replicas), replicas)
    surging = min(replicas, extra)
    return surging, min(replicas, extra + stopped) - surging


def track_ceiling(plan: TrackPlan) -> int:
    """The most pods a track runs outside a rollout: its autoscaler maximum, else its replicas."""
    if plan.autoscaling is not None:
        return plan.autoscaling.max_replicas
    return plan.track.replicas or 0


@dataclass(frozen=True)
class TrackDemand:
    """One Deployment's pods at peak: ``now`` as configured, ``peak`` with its release step."""

    service: str
    deployment: str
    now: int
    peak: int
    why: str
    footprint: dict[str, Fraction]
    # The service key that sizes this track, for the fix a message proposes.
    scale_key: str
    # The key that sizes the track's injected istio-proxy; None when its pods have none.
    proxy_key: str | None = None


@dataclass
class NamespaceDemand:
    namespace: str
    tracks: list[TrackDemand] = field(default_factory=list)
    services: int = 0
    claims: int = 0
    storage: Fraction = Fraction(0)

    def total(self, key: str, release: bool = True) -> Fraction:
        if key == "services":
            return Fraction(self.services)
        if key == "persistentvolumeclaims":
            return Fraction(self.claims)
        if key == "requests.storage":
            return self.storage
        count = (lambda track: track.peak) if release else (lambda track: track.now)
        if key == "pods":
            return Fraction(sum(count(track) for track in self.tracks))
        return sum((count(track) * track.footprint[key] for track in self.tracks), Fraction(0))


def service_tracks(name: str, spec: ServiceSpec, mesh: Mesh) -> list[TrackDemand]:
    plan = plan_for(name, spec)
    tracks = {track_plan.track.version: track_plan for track_plan in plan.tracks}

    def track(deployment: str, now: int, peak: int, why: str, scale_key: str, pods: ServiceSpec = spec,
              prefix: str = "") -> TrackDemand:
        proxy = injected_proxy(mesh, pods)
        return TrackDemand(name, deployment, now, peak, why, pod_footprint(pods, proxy), scale_key,
                           proxy_key(name, pods, prefix) if proxy else None)

    if spec.delivery == "blueGreen":
        colours = spec.colours
        active = tracks[colours.active]
        active_pods = rollout_pods(spec, track_ceiling(active))
        idle = tracks.get(colours.idle)
        idle_now = rollout_pods(spec, track_ceiling(idle)) if idle else 0
        return [track(active.track.deployment_name, active_pods, active_pods,
                      f"active colour: {_rollout_words(spec, active)}", _scale_key(active)),
                track(f"{name}-{colours.idle}", idle_now, max(idle_now, active_pods),
                      "idle colour at the active colour's size during a switch", _scale_key(active))]
    if spec.delivery == "canary":
        stable = tracks["stable"]
        stable_pods = rollout_pods(spec, track_ceiling(stable))
        canary = tracks.get("canary")
        canary_spec = spec.canary_spec()
        now = rollout_pods(canary_spec, track_ceiling(canary)) if canary else 0
        autoscaling = spec.canary.autoscaling
        largest = max(spec.canary.steps)
        at_step = (autoscaling.max_replicas if autoscaling is not None and autoscaling.enabled
                   else canary_weight_replicas(spec, largest))
        scale_key = ("canary.autoscaling.maxReplicas" if autoscaling is not None and autoscaling.enabled
                     else "canary.steps")
        return [track(stable.track.deployment_name, stable_pods, stable_pods,
                      f"stable: {_rollout_words(spec, stable)}", _scale_key(stable)),
                track(f"{name}-canary", now, max(now, rollout_pods(canary_spec, at_step)),
                      f"canary at its largest step, {largest} %", scale_key, canary_spec,
                      _overrides_prefix(spec, "proxyResources"))]
    (only,) = plan.tracks
    pods = rollout_pods(spec, track_ceiling(only))
    return [track(only.track.deployment_name, pods, pods, _rollout_words(spec, only), _scale_key(only))]


def _overrides_prefix(spec: ServiceSpec, key: str) -> str:
    """``canary.overrides.`` when the canary's pods set ``key`` themselves, so a fix names that key."""
    return "canary.overrides." if key in spec.canary.overrides else ""


def _scale_key(plan: TrackPlan) -> str:
    return "autoscaling.maxReplicas" if plan.autoscaling is not None else "replicas"


def _ceiling_words(plan: TrackPlan) -> str:
    if plan.autoscaling is not None:
        return f"autoscaler maximum {plan.autoscaling.max_replicas}"
    return f"{plan.track.replicas} replicas"


def _rollout_words(spec: ServiceSpec, plan: TrackPlan) -> str:
    surging, terminating = rollout_extras(spec, track_ceiling(plan))
    return f"{_ceiling_words(plan)} + {surging} surge + {terminating} terminating"


def namespace_demands(config: PlatformConfig) -> dict[str, NamespaceDemand]:
    demands = {name: NamespaceDemand(name) for name in config.namespaces}
    for name, spec in config.services.items():
        demand = demands[spec.namespace]
        demand.tracks += service_tracks(name, spec, config.platform.mesh)
        demand.services += 2 if spec.delivery == "blueGreen" else 1
        demand.claims += len(spec.claims)
        demand.storage += sum((quantity_value(claim.size) for claim in spec.claims.values()), Fraction(0))
    return demands


@dataclass(frozen=True)
class CapacityReport:
    problems: list[tuple[str, str]]
    accepted: list[tuple[str, str]]


def check_capacity(config: PlatformConfig) -> CapacityReport:
    problems: list[tuple[str, str]] = []
    accepted: list[tuple[str, str]] = []
    for namespace, demand in namespace_demands(config).items():
        spec = config.namespaces[namespace]
        hard = quota_hard(spec)
        for key, limit_text in hard.items():
            limit = quantity_value(limit_text)
            need, steady = demand.total(key), demand.total(key, release=False)
            if need <= limit:
                continue
            path = f"namespaces.{namespace}.quota.{QUOTA_KEYS[key]}"
            message = _shortfall(config.stack, namespace, key, need, limit, demand)
            if spec.accept_release_above_quota and steady <= limit:
                accepted.append((path, f"{message} [accepted: {spec.accept_release_above_quota}]"))
            else:
                problems.append((path, message))
        problems += _limit_range_problems(config, namespace)
    return CapacityReport(problems, accepted)


def _shortfall(stack: str, namespace: str, key: str, need: Fraction, limit: Fraction,
               demand: NamespaceDemand) -> str:
    if key in ("services", "persistentvolumeclaims", "requests.storage"):
        what = {"services": "Services", "persistentvolumeclaims": "claims",
                "requests.storage": "storage requested by claims"}[key]
        return (f"stack '{stack}', namespace {namespace}: {key} needs {show(key, need)} ({what}) but the "
                f"ResourceQuota allows {show(key, limit)}: raise namespaces.{namespace}.quota.{QUOTA_KEYS[key]} "
                f"to at least {show(key, need)}, or remove some")
    parts = []
    scale_fixes: list[str] = []
    resource_fixes: list[str] = []
    for track in sorted(demand.tracks, key=lambda item: -item.peak * (1 if key == "pods" else item.footprint[key])):
        if track.peak == 0:
            continue
        each = ""
        if key != "pods":
            each = f" × {show(key, track.footprint[key])}{' with istio-proxy' if track.proxy_key else ''}"
        parts.append(f"{track.deployment} {track.peak} pods{each} ({track.why})")
        proxy_fix = track.proxy_key and key != "pods" and f"{track.proxy_key}.{key}"
        for fixes, fix in ((scale_fixes, f"services.{track.service}.{track.scale_key}"),
                           (resource_fixes, None if key == "pods" else f"services.{track.service}.resources.{key}"),
                           (resource_fixes, proxy_fix)):
            if fix and fix not in fixes:
                fixes.append(fix)
    lower = ", ".join([*scale_fixes, *resource_fixes])
    return (f"stack '{stack}', namespace {namespace}: {key} needs {show(key, need)} at peak but the ResourceQuota "
            f"allows {show(key, limit)} ({'; '.join(parts)}): raise namespaces.{namespace}.quota.{QUOTA_KEYS[key]} "
            f"to at least {show(key, need)}, or lower {lower}")


def _containers(name: str, spec: ServiceSpec, mesh: Mesh) -> list[tuple[str, str, dict]]:
    """(where, container, resources) of every container the service's tracks run, the injected proxy included."""
    specs = {"": spec}
    if spec.delivery == "canary" and spec.canary.overrides:
        specs["canary.overrides."] = spec.canary_spec()
    found = []
    for prefix, each in specs.items():
        found.append((f"services.{name}.{prefix}resources", name, each.resources.as_dict()))
        helpers: list[tuple[str, Container]] = [*(("sidecars", helper) for helper in each.sidecars),
                                                *(("initContainers", helper) for helper in each.init_containers)]
        for kind, helper in helpers:
            found.append((f"services.{name}.{prefix}{kind}.{helper.name}.resources", helper.name,
                          helper.resources.as_dict()))
        proxy = injected_proxy(mesh, each)
        where = proxy_key(name, each, _overrides_prefix(spec, "proxyResources") if prefix else "")
        if proxy and not any(path == where for path, _, _ in found):
            found.append((where, "istio-proxy", proxy.as_dict()))
    return found


def _limit_range_problems(config: PlatformConfig, namespace: str) -> list[tuple[str, str]]:
    limits = config.namespaces[namespace].limits
    stack = config.stack
    where = f"namespaces.{namespace}.limits"
    low = limits.min.as_dict() if limits.min else {}
    high = limits.max.as_dict() if limits.max else {}
    ratio = limits.max_limit_request_ratio.as_dict() if limits.max_limit_request_ratio else {}
    problems = []
    # The API server refuses a LimitRange whose defaults fall outside its own bounds.
    for resource in ("cpu", "memory"):
        default = limits.default.as_dict().get(resource)
        default_request = limits.default_request.as_dict().get(resource)
        if default and resource in high and quantity_value(default) > quantity_value(high[resource]):
            problems.append((f"{where}.default.{resource}",
                             f"stack '{stack}', namespace {namespace}: the LimitRange default {resource} {default} is "
                             f"above its max {high[resource]}: lower the default or raise the max"))
        if default_request and resource in low and quantity_value(default_request) < quantity_value(low[resource]):
            problems.append((f"{where}.defaultRequest.{resource}",
                             f"stack '{stack}', namespace {namespace}: the LimitRange defaultRequest {resource} "
                             f"{default_request} is below its min {low[resource]}: raise the default or lower the min"))
    for name, spec in config.services.items():
        if spec.namespace != namespace:
            continue
        for path, container, resources in _containers(name, spec, config.platform.mesh):
            for resource in ("cpu", "memory"):
                request = resources["requests"].get(resource)
                limit = resources["limits"].get(resource)
                about = f"stack '{stack}', namespace {namespace}: container {container} of {name}"
                if resource in low and request and quantity_value(request) < quantity_value(low[resource]):
                    problems.append((f"{path}.requests.{resource}",
                                     f"{about} requests {resource} {request}, below the LimitRange min "
                                     f"{low[resource]}, so its pods are refused: raise the request to at least "
                                     f"{low[resource]} or lower {where}.min.{resource}"))
                if resource in high and limit and quantity_value(limit) > quantity_value(high[resource]):
                    problems.append((f"{path}.limits.{resource}",
                                     f"{about} limits {resource} to {limit}, above the LimitRange max "
                                     f"{high[resource]}, so its pods are refused: lower the limit to at most "
                                     f"{high[resource]} or raise {where}.max.{resource}"))
                if resource in ratio and request and limit:
                    actual = quantity_value(limit) / quantity_value(request)
                    allowed = quantity_value(ratio[resource])
                    if actual > allowed:
                        problems.append((f"{path}.limits.{resource}",
                                         f"{about} has a {resource} limit/request ratio of {_ratio(actual)} "
                                         f"({limit}/{request}), above the LimitRange maxLimitRequestRatio "
                                         f"{ratio[resource]}: raise the request to at least "
                                         f"{show('limits.' + resource, quantity_value(limit) / allowed)} or "
                                         f"lower the limit, or raise {where}.maxLimitRequestRatio.{resource}"))
    return problems


def _ratio(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):.2f}"
