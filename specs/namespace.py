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
    quota = spec.quota
    return {"hard": {
        "requests.cpu": quota.requests_cpu,
        "requests.memory": quota.requests_memory,
        "limits.cpu": quota.limits_cpu,
        "limits.memory": quota.limits_memory,
        "persistentvolumeclaims": str(quota.persistent_volume_claims),
        "services": str(quota.services),
        "pods": str(quota.pods),
    }}


def limit_range(spec: NamespaceSpec) -> dict:
    return {"limits": [{
        "type": "Container",
        "default": spec.limits.default.as_dict(),
        "defaultRequest": spec.limits.default_request.as_dict(),
    }]}
