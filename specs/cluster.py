"""Pure builders for cluster-wide objects: storage classes and the backup schedule."""

from __future__ import annotations

from platform_config.models import Backups, StorageClassSpec


def storage_class(spec: StorageClassSpec) -> dict:
    """Fields of a storage.k8s.io/v1 StorageClass (it has no spec block)."""
    fields = {
        "provisioner": spec.provisioner,
        "reclaimPolicy": spec.reclaim_policy,
        "volumeBindingMode": spec.volume_binding_mode,
        "allowVolumeExpansion": spec.allow_volume_expansion,
    }
    if spec.parameters:
        fields["parameters"] = dict(spec.parameters)
    return fields


def backup_schedule(backups: Backups, namespaces: list[str]) -> dict:
    """A Velero Schedule; Velero evaluates the cron expression in UTC."""
    return {
        "schedule": backups.schedule,
        "useOwnerReferencesInBackup": False,
        "template": {
            "includedNamespaces": sorted(namespaces),
            "ttl": backups.ttl,
            "storageLocation": backups.storage_location,
            "snapshotVolumes": backups.snapshot_volumes,
        },
    }
