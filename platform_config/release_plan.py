"""The release plan: a stack in delivery terms, and what a config change does in those terms.

Per namespace, the capacity at rest (every track at its floor) and at peak (``capacity``) against
the quota, with the headroom left; per service, its delivery state. ``describe_change`` compares
two plans, so a reviewer reads "active blue → green" instead of a field diff.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from fractions import Fraction

from platform_config.capacity import namespace_demands, show
from platform_config.models import PlatformConfig, ServiceSpec
from platform_config.quantities import quantity_value
from specs.delivery import TrackPlan, plan_for, preview_colour
from specs.namespace import quota_hard

FIGURES = ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory", "pods")


@dataclass(frozen=True)
class TrackState:
    name: str
    image: str
    floor: int
    ceiling: int
    autoscaled: bool

    @property
    def size(self) -> str:
        if self.autoscaled:
            return f"autoscaler {self.floor}–{self.ceiling}"
        return _pods(self.floor)


@dataclass(frozen=True)
class ServiceState:
    name: str
    namespace: str
    strategy: str
    active: str | None
    preview: str | None
    weight: int | None
    header: str | None
    tracks: tuple[TrackState, ...]

    def track(self, name: str) -> TrackState | None:
        return next((track for track in self.tracks if track.name == name), None)


@dataclass(frozen=True)
class NamespaceState:
    name: str
    quota: dict[str, Fraction]
    rest: dict[str, Fraction]
    peak: dict[str, Fraction]

    @property
    def headroom(self) -> dict[str, Fraction]:
        return {key: self.quota[key] - self.peak[key] for key in FIGURES}


@dataclass(frozen=True)
class Plan:
    stack: str
    namespaces: tuple[NamespaceState, ...]
    services: tuple[ServiceState, ...]


def _track_state(spec: ServiceSpec, plan: TrackPlan) -> TrackState:
    autoscaling = plan.autoscaling
    floor = plan.min_replicas
    return TrackState(name=plan.track.version or "main", image=f"{spec.image}:{plan.track.tag}", floor=floor,
                      ceiling=autoscaling.max_replicas if autoscaling else floor, autoscaled=autoscaling is not None)


def service_state(name: str, spec: ServiceSpec) -> ServiceState:
    tracks = tuple(_track_state(spec, plan) for plan in plan_for(name, spec).tracks)
    if spec.delivery == "blueGreen":
        return ServiceState(name, spec.namespace, "blueGreen", spec.colours.active, preview_colour(spec), None, None, tracks)
    if spec.delivery == "canary":
        has_canary = any(track.name == "canary" for track in tracks)
        header = f'{spec.canary.header}: "{spec.canary.header_value}"' if has_canary else None
        return ServiceState(name, spec.namespace, "canary", None, None, spec.canary.weight if has_canary else 0, header, tracks)
    return ServiceState(name, spec.namespace, "rolling", None, None, None, None, tracks)


def release_plan(config: PlatformConfig) -> Plan:
    demands = namespace_demands(config)
    namespaces = []
    for name, demand in demands.items():
        hard = quota_hard(config.namespaces[name])
        rest = {key: Fraction(0) for key in FIGURES}
        for service_name, spec in config.services.items():
            if spec.namespace != name:
                continue
            for plan in plan_for(service_name, spec).tracks:
                rest["pods"] += plan.min_replicas
                footprint = next(track.footprint for track in demand.tracks
                                 if track.deployment == plan.track.deployment_name)
                for key in FIGURES[:4]:
                    rest[key] += plan.min_replicas * footprint[key]
        namespaces.append(NamespaceState(name, {key: quantity_value(hard[key]) for key in FIGURES}, rest,
                                         {key: demand.total(key) for key in FIGURES}))
    services = tuple(service_state(name, spec) for name, spec in config.services.items())
    return Plan(config.stack, tuple(namespaces), services)


def _pods(count: Fraction | int) -> str:
    return f"{count} pod{'s' * (count != 1)}"


def _figures(values: dict[str, Fraction]) -> str:
    return (f"{_pods(values['pods'])}, requests {show('requests.cpu', values['requests.cpu'])} CPU / "
            f"{show('requests.memory', values['requests.memory'])}, limits {show('limits.cpu', values['limits.cpu'])} "
            f"CPU / {show('limits.memory', values['limits.memory'])}")


def _delivery_line(service: ServiceState) -> str:
    if service.strategy == "blueGreen":
        return f"{service.name}: blue-green, active {service.active}, preview selects {service.preview}"
    if service.strategy == "canary":
        if service.header is None:
            return f"{service.name}: canary at rest (stable 100 %)"
        return f"{service.name}: canary {service.weight} %, header route {service.header} first"
    return f"{service.name}: rolling"


def plan_text(plan: Plan) -> str:
    lines = [f"release plan of stack '{plan.stack}'"]
    for namespace in plan.namespaces:
        services = [service for service in plan.services if service.namespace == namespace.name]
        lines.append("")
        lines.append(f"namespace {namespace.name}")
        lines.append(f"  quota:   {_figures(namespace.quota)}")
        lines.append(f"  at rest: {_figures(namespace.rest)}")
        lines.append(f"  at peak: {_figures(namespace.peak)}")
        lines.append(f"  headroom at peak: {_figures(namespace.headroom)}")
        for service in services:
            lines.append(f"  {_delivery_line(service)}")
            for track in service.tracks:
                lines.append(f"    {track.name:<7} {track.image}  {track.size}")
    return "\n".join(lines) + "\n"


def _headroom_words(namespace: NamespaceState) -> str:
    room = namespace.headroom
    return (f"{show('limits.cpu', room['limits.cpu'])} CPU / {show('limits.memory', room['limits.memory'])} "
            f"of limits, {_pods(room['pods'])}")


def _size_words(track: TrackState | None) -> str:
    if track is None or track.ceiling == 0:
        return _pods(0)
    if track.autoscaled:
        return f"{track.floor}–{track.ceiling} pods"
    return _pods(track.floor)


def _service_changes(old: ServiceState, new: ServiceState, namespace: NamespaceState) -> list[str]:
    name = new.name
    changes = []
    if old.strategy != new.strategy:
        return [f"{name}: delivery {old.strategy} → {new.strategy}"]
    handled: set[str] = set()
    if old.active != new.active:
        changes.append(f"{name}: active {old.active} → {new.active}; Service selectors change; "
                       f"{old.active} keeps {_size_words(new.track(old.active))}")
    elif old.preview != new.preview:
        changes.append(f"{name}: preview Service selects {old.preview} → {new.preview}")
    if old.weight != new.weight or old.header != new.header:
        before, after = old.track("canary"), new.track("canary")
        image = f" on {after.image}" if after is not None and (before is None or before.image != after.image) else ""
        changes.append(f"{name}: canary {old.weight} % → {new.weight} %{image}, canary pods {_size_words(before)} → "
                       f"{_size_words(after)}, header route {'on' if new.header else 'off'}; "
                       f"headroom after: {_headroom_words(namespace)}")
        handled.add("canary")
    for track in new.tracks:
        previous = old.track(track.name)
        if track.name in handled:
            continue
        if previous is None:
            changes.append(f"{name}: + {track.name} {track.image} ({_size_words(track)})")
            continue
        if previous.image != track.image:
            changes.append(f"{name}: {track.name} image {previous.image} → {track.image}")
        if (previous.floor, previous.ceiling) != (track.floor, track.ceiling):
            changes.append(f"{name}: {track.name} {_size_words(previous)} → {_size_words(track)}")
    for track in old.tracks:
        if new.track(track.name) is None and track.name not in handled:
            changes.append(f"{name}: - {track.name} ({track.image})")
    return changes


def _matched(before, after) -> tuple[list, list[str]]:
    """(the previous item or None, the item) for each item of ``after``, and the names only ``before`` has."""
    old = {item.name: item for item in before}
    names = {item.name for item in after}
    return [(old.get(item.name), item) for item in after], [name for name in old if name not in names]


def describe_change(before: Plan, after: Plan) -> str:
    """What going from ``before`` to ``after`` does, in delivery terms, one line per change."""
    lines = []
    namespaces, gone = _matched(before.namespaces, after.namespaces)
    for previous, namespace in namespaces:
        if previous is None:
            lines.append(f"+ namespace {namespace.name}")
            continue
        lines += [f"namespace {namespace.name}: quota {key} {show(key, previous.quota[key])} → "
                  f"{show(key, namespace.quota[key])}" for key in FIGURES if previous.quota[key] != namespace.quota[key]]
    lines += [f"- namespace {name}" for name in gone]
    by_name = {namespace.name: namespace for namespace in after.namespaces}
    services, gone = _matched(before.services, after.services)
    for previous, service in services:
        if previous is None:
            lines.append(f"+ service {service.name} ({service.strategy})")
        else:
            lines += _service_changes(previous, service, by_name[service.namespace])
    lines += [f"- service {name}" for name in gone]
    if not lines:
        lines = ["no change in delivery terms"]
    return "\n".join(lines) + "\n"


def plan_to_json(plan: Plan) -> str:
    """A plan saved for a later ``describe_change`` (``make plan SAVE=…``); figures stay exact."""
    return json.dumps(asdict(plan), indent=1, default=str) + "\n"


def plan_from_json(text: str) -> Plan:
    data = json.loads(text)
    namespaces = tuple(NamespaceState(item["name"], *({key: Fraction(value) for key, value in item[part].items()}
                                                      for part in ("quota", "rest", "peak")))
                       for item in data["namespaces"])
    services = tuple(ServiceState(**{**item, "tracks": tuple(TrackState(**track) for track in item["tracks"])})
                     for item in data["services"])
    return Plan(data["stack"], namespaces, services)
