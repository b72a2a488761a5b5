"""Pure builders for the objects around a workload: identity, config, Service, storage, Ingress."""

from __future__ import annotations

from platform_config.models import Claim, IngressRoute, RbacRule, ServiceSpec


def role(rules: list[RbacRule]) -> dict:
    built = []
    for rule in rules:
        entry = {"apiGroups": list(rule.api_groups), "resources": list(rule.resources), "verbs": list(rule.verbs)}
        if rule.resource_names:
            entry["resourceNames"] = list(rule.resource_names)
        built.append(entry)
    return {"rules": built}


def role_binding(role_name: str, service_account: str, namespace: str) -> dict:
    return {
        "subjects": [{"kind": "ServiceAccount", "name": service_account, "namespace": namespace}],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role_name},
    }


def config_map_data(service: ServiceSpec) -> dict[str, str]:
    return {**service.config_files, **service.config_data}


def service(selector: dict[str, str], spec: ServiceSpec) -> dict:
    result = {
        "type": "ClusterIP",
        "selector": selector,
        "ports": [{"name": "http", "port": spec.exposed_port, "targetPort": "http", "protocol": "TCP",
                   "appProtocol": "http"}],
        "sessionAffinity": "None",
    }
    metrics_port = spec.observability.metrics_port
    if metrics_port and metrics_port != spec.port:
        result["ports"].append({"name": "metrics", "port": metrics_port, "targetPort": "metrics",
                                "protocol": "TCP", "appProtocol": "http"})
    if spec.session_affinity_timeout_seconds:
        result["sessionAffinity"] = "ClientIP"
        result["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": spec.session_affinity_timeout_seconds}}
    return result


def persistent_volume_claim(claim: Claim) -> dict:
    return {
        "accessModes": [claim.access_mode],
        "storageClassName": claim.storage_class,
        "resources": {"requests": {"storage": claim.size}},
    }


def ingress_annotations(route: IngressRoute, cluster_issuer: str | None) -> dict[str, str]:
    annotations = {"nginx.ingress.kubernetes.io/ssl-redirect": "true",
                   "nginx.ingress.kubernetes.io/force-ssl-redirect": "true"}
    if cluster_issuer:
        annotations["cert-manager.io/cluster-issuer"] = cluster_issuer
    if route.rate_limit_rps:
        annotations["nginx.ingress.kubernetes.io/limit-rps"] = str(route.rate_limit_rps)
    if route.rate_limit_rpm:
        annotations["nginx.ingress.kubernetes.io/limit-rpm"] = str(route.rate_limit_rpm)
    return annotations


def ingress(service_name: str, port: int, route: IngressRoute, ingress_class: str) -> dict:
    return {
        "ingressClassName": ingress_class,
        "tls": [{"hosts": [route.host], "secretName": route.tls_secret or f"{service_name}-tls"}],
        "rules": [{"host": route.host, "http": {"paths": [{
            "path": route.path,
            "pathType": "Prefix",
            "backend": {"service": {"name": service_name, "port": {"number": port}}},
        }]}}],
    }
