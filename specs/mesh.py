"""Pure builders for service-mesh objects: Istio security policies and injection settings.

The AuthorizationPolicy admits exactly the callers the NetworkPolicy admits (both come from
``specs.traffic``), so the two layers can never disagree about who may call a service.
"""

from __future__ import annotations

from platform_config.models import Jwt, Mesh

from .traffic import Rule

MESH_NAMESPACE_LABELS = {"istio": {"istio-injection": "enabled"}}
MESH_NAMESPACE_ANNOTATIONS = {"linkerd": {"linkerd.io/inject": "enabled"}}
MESH_POD_ANNOTATIONS = {"linkerd": {"linkerd.io/inject": "enabled"}}
TRUST_DOMAIN = "cluster.local"


def namespace_labels(mesh: Mesh) -> dict[str, str]:
    return dict(MESH_NAMESPACE_LABELS.get(mesh.provider, {}))


def namespace_annotations(mesh: Mesh) -> dict[str, str]:
    return dict(MESH_NAMESPACE_ANNOTATIONS.get(mesh.provider, {}))


def pod_annotations(mesh: Mesh) -> dict[str, str]:
    return dict(MESH_POD_ANNOTATIONS.get(mesh.provider, {}))


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
