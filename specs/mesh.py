"""Pure builders for service-mesh objects: Istio security policies and injection settings.

The AuthorizationPolicy admits exactly the callers the NetworkPolicy admits (both come from
``specs.traffic``), so the two layers can never disagree about who may call a service.
"""

from __future__ import annotations

from platform_config.models import Jwt, Mesh, ProxyResources, ServiceSpec

from .traffic import Rule

MESH_NAMESPACE_LABELS = {"istio": {"istio-injection": "enabled"}}
MESH_NAMESPACE_ANNOTATIONS = {"linkerd": {"linkerd.io/inject": "enabled"}}
MESH_POD_ANNOTATIONS = {"linkerd": {"linkerd.io/inject": "enabled"}}
TRUST_DOMAIN = "cluster.local"
ISTIO_INJECT = "sidecar.istio.io/inject"
# Istio's injection template sizes istio-proxy (and istio-init) from these annotations; once any of
# them is set it ignores the installation's global.proxy.resources, so all four are always written.
PROXY_ANNOTATIONS = {("requests", "cpu"): "sidecar.istio.io/proxyCPU",
                     ("limits", "cpu"): "sidecar.istio.io/proxyCPULimit",
                     ("requests", "memory"): "sidecar.istio.io/proxyMemory",
                     ("limits", "memory"): "sidecar.istio.io/proxyMemoryLimit"}


def namespace_labels(mesh: Mesh) -> dict[str, str]:
    return dict(MESH_NAMESPACE_LABELS.get(mesh.provider, {}))


def namespace_annotations(mesh: Mesh) -> dict[str, str]:
    return dict(MESH_NAMESPACE_ANNOTATIONS.get(mesh.provider, {}))


def injected_proxy(mesh: Mesh, service: ServiceSpec) -> ProxyResources | None:
    """The resources of the istio-proxy the injector adds to the service's pods; None when it adds none.

    Every namespace of an Istio stack is labelled for injection; a pod opts out with
    ``sidecar.istio.io/inject: "false"`` as a label (the webhook's object selector) or an annotation
    (the injector's own policy check).
    """
    if mesh.provider != "istio":
        return None
    if "false" in (service.labels.get(ISTIO_INJECT), service.pod_annotations.get(ISTIO_INJECT)):
        return None
    return service.proxy_resources or mesh.proxy_resources


def pod_annotations(mesh: Mesh, service: ServiceSpec) -> dict[str, str]:
    annotations = dict(MESH_POD_ANNOTATIONS.get(mesh.provider, {}))
    proxy = injected_proxy(mesh, service)
    if proxy is not None:
        amounts = proxy.as_dict()
        annotations.update({key: amounts[section][resource] for (section, resource), key in PROXY_ANNOTATIONS.items()})
    return annotations


def peer_authentication(mode: str) -> dict:
    """Namespace-wide mTLS mode for every workload's sidecar."""
    return {"mtls": {"mode": mode}}


def principal(namespace: str, service_account: str) -> str:
    return f"{TRUST_DOMAIN}/ns/{namespace}/sa/{service_account}"


def authorization_policy(app: str, rules: list[Rule], jwt_required: bool) -> dict:
    """ALLOW only the declared callers, each on the ports its NetworkPolicy rule opens.

    Services in the mesh are named by their mTLS identity (service account); peers such as
    the ingress controller by namespace. With JWT on, requests must also carry a valid token.
    """
    allowed = []
    for rule in rules:
        party = rule.party
        if party.cidr:
            continue
        if party.service_account:
            source = {"principals": [principal(party.namespace, party.service_account)]}
        else:
            source = {"namespaces": [party.namespace]}
            if jwt_required:
                source["requestPrincipals"] = ["*"]
        allowed.append({"from": [{"source": source}],
                        "to": [{"operation": {"ports": [str(port) for port in rule.ports]}}]})
    return {"selector": {"matchLabels": {"app": app}}, "action": "ALLOW", "rules": allowed}


def request_authentication(app: str, jwt: Jwt) -> dict:
    rule = {"issuer": jwt.issuer, "jwksUri": jwt.jwks_uri, "forwardOriginalToken": True}
    if jwt.audiences:
        rule["audiences"] = list(jwt.audiences)
    return {"selector": {"matchLabels": {"app": app}}, "jwtRules": [rule]}
