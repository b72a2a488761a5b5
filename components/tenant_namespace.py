"""TenantNamespace: a namespace that is safe to hand to a team.

Pod Security Admission at ``restricted``, a ResourceQuota and container defaults, and a
default-deny NetworkPolicy with DNS allowed, so every workload must state its traffic. With
a mesh: sidecar injection and, for Istio, the namespace's mTLS mode (PeerAuthentication).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from platform_config.models import NamespaceSpec, PlatformSettings
from specs import mesh as mesh_specs
from specs import namespace as namespace_specs
from specs import network as network_specs
from specs.metadata import object_metadata


@dataclass(frozen=True)
class TenantNamespaceArgs:
    spec: NamespaceSpec
    platform: PlatformSettings


class TenantNamespace(pulumi.ComponentResource):
    namespace: str

    def __init__(self, name: str, args: TenantNamespaceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("micropay:namespace:TenantNamespace", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.namespace = namespace = name
        platform = args.platform
        # Namespaces that hold state are protected where the platform protects state (production).
        protect = platform.protect_state and args.spec.holds_state

        created = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=object_metadata(namespace, labels=namespace_specs.namespace_labels(
                namespace, mesh_specs.namespace_labels(platform.mesh)),
                annotations=mesh_specs.namespace_annotations(platform.mesh)),
            opts=pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=protect),
        )
        in_namespace = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[created]))

        def metadata(object_name: str) -> dict:
            return object_metadata(object_name, namespace)

        k8s.core.v1.ResourceQuota(f"{name}-quota", metadata=metadata(f"{namespace}-quota"),
                                  spec=namespace_specs.resource_quota(args.spec), opts=in_namespace)
        k8s.core.v1.LimitRange(f"{name}-limits", metadata=metadata(f"{namespace}-limits"),
                               spec=namespace_specs.limit_range(args.spec), opts=in_namespace)
        k8s.networking.v1.NetworkPolicy(f"{name}-default-deny", metadata=metadata("default-deny-all"),
                                        spec=network_specs.default_deny(), opts=in_namespace)
        k8s.networking.v1.NetworkPolicy(f"{name}-allow-dns", metadata=metadata("allow-dns-egress"),
                                        spec=network_specs.allow_dns(platform.dns_namespace), opts=in_namespace)

        if platform.mesh.provider == "istio":
            k8s.apiextensions.CustomResource(
                f"{name}-peer-authentication", api_version="security.istio.io/v1", kind="PeerAuthentication",
                metadata=metadata("default"), spec=mesh_specs.peer_authentication(platform.mesh.mtls),
                opts=in_namespace)

        self.register_outputs(self.stack_outputs())

    def stack_outputs(self) -> dict[str, object]:
        """The attributes under the keys the engine records for the component."""
        return {"namespace": self.namespace}
