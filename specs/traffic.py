"""Who may talk to whom: the one source of truth for NetworkPolicies and mesh policies.

A service's callers are the services that list it under ``dependencies`` plus the callers
it names itself (peers such as the ingress controller); Prometheus is admitted on the
metrics port when the stack scrapes. Egress goes to the dependencies and to DNS.
"""

from __future__ import annotations

from dataclasses import dataclass

from platform_config.models import PlatformConfig


@dataclass(frozen=True)
class Party:
    """One side of an allowed connection: pods in a namespace, or an address range."""

    name: str
    namespace: str | None
    pod_labels: tuple[tuple[str, str], ...] = ()
    cidr: str | None = None
    service_account: str | None = None

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.pod_labels)


@dataclass(frozen=True)
class Rule:
    party: Party
    ports: tuple[int, ...]
    protocol: str = "TCP"


def service_account_name(service: str) -> str:
    return f"{service}-sa"


def service_party(config: PlatformConfig, name: str) -> Party:
    service = config.services[name]
    return Party(name=name, namespace=service.namespace, pod_labels=(("app", name),),
                 service_account=service_account_name(name))


def callers(config: PlatformConfig, name: str) -> list[Party]:
    """Every party allowed to open connections to the service's own port, sorted by name."""
    service = config.services[name]
    named = set(service.callers)
    named |= config.dependents.get(name, frozenset())
    if service.ingress and config.platform.ingress_from:
        named.add("ingress-controller")
    parties = []
    for caller in sorted(named):
        if caller in config.services:
            parties.append(service_party(config, caller))
        elif caller in config.peers:
            peer = config.peers[caller]
            parties.append(Party(caller, peer.namespace, tuple(sorted(peer.pod_labels.items()))))
        else:
            peer = config.platform.ingress_from
            parties.append(Party(caller, peer.namespace, tuple(sorted(peer.pod_labels.items()))))
    return parties


# Control planes the sidecars must reach: (namespace, pod labels, ports).
MESH_CONTROL_PLANES = {
    "istio": ("istio-system", (("app", "istiod"),), (15012,)),
    "linkerd": ("linkerd", (("linkerd.io/control-plane-ns", "linkerd"),), (8080, 8086, 8090)),
}
# Istio merges the app's metrics into the sidecar agent's port, where Prometheus scrapes.
ISTIO_MERGED_METRICS_PORT = 15020


def ingress_rules(config: PlatformConfig, name: str) -> list[Rule]:
    service = config.services[name]
    rules = [Rule(party, (service.port,)) for party in callers(config, name)]
    scraper = config.platform.scrape_from
    if scraper is not None:
        ports = [service.observability.metrics_port or service.port]
        if config.platform.mesh.provider == "istio":
            ports.append(ISTIO_MERGED_METRICS_PORT)
        rules.append(Rule(Party("prometheus", scraper.namespace, tuple(sorted(scraper.pod_labels.items()))),
                          tuple(dict.fromkeys(ports))))
    return rules


def egress_rules(config: PlatformConfig, name: str) -> list[Rule]:
    rules = []
    for dependency in sorted(config.services[name].dependencies):
        if dependency in config.services:
            rules.append(Rule(service_party(config, dependency), (config.services[dependency].port,)))
        else:
            endpoint = config.endpoints[dependency]
            party = Party(dependency, endpoint.namespace, tuple(sorted(endpoint.pod_labels.items())),
                          cidr=endpoint.cidr)
            rules.append(Rule(party, (endpoint.port,), endpoint.protocol))
    tracing = config.platform.observability.tracing
    if tracing and tracing.collector and config.services[name].observability.tracing:
        collector = config.endpoints[tracing.collector]
        rules.append(Rule(Party(tracing.collector, collector.namespace, tuple(sorted(collector.pod_labels.items())),
                                cidr=collector.cidr), (collector.port,), collector.protocol))
    control_plane = MESH_CONTROL_PLANES.get(config.platform.mesh.provider)
    if control_plane:
        namespace, labels, ports = control_plane
        rules.append(Rule(Party(f"{config.platform.mesh.provider}-control-plane", namespace, labels), ports))
    return rules
