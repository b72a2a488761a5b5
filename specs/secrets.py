"""Pure builders for secrets fetched by the External Secrets Operator."""

from __future__ import annotations

from platform_config.models import SecretSpec


def remote_key(secret: SecretSpec, environment: str, service: str) -> str:
    return secret.remote_path or f"micropay/{environment}/{service}/{secret.secret_name(service)}"


def external_secret(secret_name: str, secret: SecretSpec, remote: str, store: str, refresh_interval: str,
                    static_values: dict[str, str]) -> dict:
    """An ExternalSecret that owns the Secret; static, non-sensitive keys are templated in."""
    spec: dict = {
        "refreshInterval": refresh_interval,
        "secretStoreRef": {"kind": "ClusterSecretStore", "name": store},
        "target": {"name": secret_name, "creationPolicy": "Owner", "deletionPolicy": "Retain"},
        "data": [
            {"secretKey": key_name, "remoteRef": {"key": remote, "property": key.remote_property or key_name}}
            for key_name, key in secret.keys.items() if key_name not in static_values
        ],
    }
    if static_values:
        spec["target"]["template"] = {"engineVersion": "v2", "mergePolicy": "Merge", "data": dict(static_values)}
    return spec
