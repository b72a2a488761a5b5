"""Object metadata and the `app.kubernetes.io/*` labels: one home for both.

Every object's metadata is built here, so name, namespace, labels and annotations have one
shape; the provenance annotation (`micropay.io/component`) is added on top of it by
`components.provenance` for every object a component creates.
"""

from __future__ import annotations

from collections.abc import Mapping


def app_labels(name: str | None = None, version: str | None = None) -> dict[str, str]:
    """The recommended `app.kubernetes.io/*` labels: what the object is part of and who manages it.

    Objects that belong to no application (a namespace, a storage class) carry only `managed-by`.
    """
    labels = {"app.kubernetes.io/name": name} if name else {}
    if version:
        labels["app.kubernetes.io/version"] = version
    labels["app.kubernetes.io/managed-by"] = "pulumi"
    return labels


def object_metadata(name: str, namespace: str | None = None, labels: Mapping[str, str] | None = None,
                    annotations: Mapping[str, str] | None = None) -> dict:
    """`metadata` of an object; cluster-scoped objects pass no namespace, and empty annotations are left out."""
    metadata: dict = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    metadata["labels"] = dict(labels or app_labels())
    if annotations:
        metadata["annotations"] = dict(annotations)
    return metadata
