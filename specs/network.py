"""Pure builders for NetworkPolicies: namespace default-deny, DNS, and per-service rules."""

from __future__ import annotations

from .traffic import Party, Rule

DNS_PORTS = ({"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53})

# The API server sets this label on every namespace (1.21+), including those that operators
# install (monitoring, istio-system, ingress-nginx); a label of our own would miss them.
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def namespace_selector(namespace: str) -> dict:
    return {"matchLabels": {NAMESPACE_NAME_LABEL: namespace}}


def dns_peer(dns_namespace: str) -> dict:
    return {
        "namespaceSelector": namespace_selector(dns_namespace),
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
    }


def default_deny() -> dict:
    """Selects every pod and allows nothing: what is not allowed explicitly is denied."""
    return {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def allow_dns(dns_namespace: str) -> dict:
    return {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [{"to": [dns_peer(dns_namespace)], "ports": [dict(port) for port in DNS_PORTS]}],
    }


def peer(party: Party) -> dict:
    """One peer that must match namespace AND pods (a single list item, not two)."""
    if party.cidr:
        return {"ipBlock": {"cidr": party.cidr}}
    return {
        "namespaceSelector": namespace_selector(party.namespace),
        "podSelector": {"matchLabels": party.labels},
    }


def _ports(rule: Rule) -> list[dict]:
    return [{"protocol": rule.protocol, "port": port} for port in rule.ports]


def service_policy(pod_selector: dict[str, str], ingress: list[Rule], egress: list[Rule],
                   dns_namespace: str) -> dict:
    """Ingress only from declared callers; egress only to declared dependencies and DNS."""
    return {
        "podSelector": {"matchLabels": pod_selector},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [{"from": [peer(rule.party)], "ports": _ports(rule)} for rule in ingress],
        "egress": [{"to": [peer(rule.party)], "ports": _ports(rule)} for rule in egress]
                  + [{"to": [dns_peer(dns_namespace)], "ports": [dict(port) for port in DNS_PORTS]}],
    }
