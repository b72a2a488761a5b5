"""Pure builders for a tenant namespace: labels, quota and container defaults."""

from __future__ import annotations

from platform_config.models import NamespaceSpec

POD_SECURITY_LEVEL = "restricted"


def namespace_labels(name: str, mesh_labels: dict[str, str] | None = None) -> dict[str, str]:
    labels = {
        "name": name,
        "app.kubernetes.io/managed-by": "pulumi",
        **{f"pod-security.kubernetes.io/{mode}": POD_SECURITY_LEVEL for mode in ("enforce", "audit", "warn")},
        **{f"pod-security.kubernetes.io/{mode}-version": "latest" for mode in ("enforce", "audit", "warn")},
    }
    labels.update(mesh_labels or {})
    return labels


def resource_quota(spec: NamespaceSpec) -> dict:
    return {"hard": quota_hard(spec)}


def quota_hard(spec: NamespaceSpec) -> dict[str, str]:
    """The ResourceQuota's ``hard`` map; the capacity check compares against the same figures."""
    quota = spec.quota
    hard = {
        "requests.cpu": quota.requests_cpu,
        "requests.memory": quota.requests_memory,
        "limits.cpu": quota.limits_cpu,
        "limits.memory": quota.limits_memory,
        "persistentvolumeclaims": str(quota.persistent_volume_claims),
        "services": str(quota.services),
        "pods": str(quota.pods),
    }
    if quota.requests_storage is not None:
        hard["requests.storage"] = quota.requests_storage
    return hard


def limit_range(spec: NamespaceSpec) -> dict:
    limits = spec.limits
    item = {"type": "Container", "default": limits.default.as_dict(),
            "defaultRequest": limits.default_request.as_dict()}
    for key, amounts in (("min", limits.min), ("max", limits.max),
                         ("maxLimitRequestRatio", limits.max_limit_request_ratio)):
        if amounts is not None:
            item[key] = amounts.as_dict()
    return {"limits": [item]}
