"""ClusterBaseline: the cluster-wide pieces a stack owns besides its namespaces.

Storage classes (only when the stack owns the cluster; otherwise they are references that
claims are checked against) and the Velero backup schedule of the namespaces holding state.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from platform_config.models import Backups, StorageClassSpec
from specs import cluster as cluster_specs
from specs.metadata import object_metadata


@dataclass(frozen=True)
class ClusterBaselineArgs:
    storage_classes: dict[str, StorageClassSpec]
    create_storage_classes: bool
    backups: Backups
    stateful_namespaces: list[str]
    schedule_name: str = "micropay-daily-backup"


class ClusterBaseline(pulumi.ComponentResource):
    storage_classes: list[str]
    backup_schedule: str | None
    backed_up_namespaces: list[str]

    def __init__(self, name: str, args: ClusterBaselineArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("micropay:cluster:ClusterBaseline", name, None, opts)
        self.storage_classes = []
        if args.create_storage_classes:
            for class_name, spec in sorted(args.storage_classes.items()):
                fields = cluster_specs.storage_class(spec)
                k8s.storage.v1.StorageClass(
                    f"{name}-storage-class-{class_name}", metadata=object_metadata(class_name),
                    provisioner=fields["provisioner"], parameters=fields.get("parameters"),
                    reclaim_policy=fields["reclaimPolicy"], volume_binding_mode=fields["volumeBindingMode"],
                    allow_volume_expansion=fields["allowVolumeExpansion"], opts=pulumi.ResourceOptions(parent=self))
                self.storage_classes.append(class_name)
        self.backup_schedule = None
        if args.backups.enabled and args.stateful_namespaces:
            k8s.apiextensions.CustomResource(
                f"{name}-backup-schedule", api_version="velero.io/v1", kind="Schedule",
                metadata=object_metadata(args.schedule_name, args.backups.namespace),
                spec=cluster_specs.backup_schedule(args.backups, args.stateful_namespaces),
                opts=pulumi.ResourceOptions(parent=self))
            self.backup_schedule = args.schedule_name
        self.backed_up_namespaces = sorted(args.stateful_namespaces) if self.backup_schedule else []
        self.register_outputs(self.stack_outputs())

    def stack_outputs(self) -> dict[str, object]:
        """The attributes under the keys the engine records and `pulumi stack output cluster` shows."""
        return {"storageClasses": self.storage_classes, "backupSchedule": self.backup_schedule,
                "backedUpNamespaces": self.backed_up_namespaces}

