"""Typed models of a stack's configuration, one module per concern: ``platform``, ``service``,
``workload`` (a service's pods, shared with its canary), ``delivery``, ``observability``, ``secrets``
(and ``base``, what they share).

Everything a component needs is parsed here, once, before any resource is registered; what spans
several settings is checked by ``platform_config.rules``. Keys are camelCase in YAML, like the
Kubernetes API; models are frozen so a component cannot change what another one reads.
"""

from .base import (DNS1123_LABEL, HTTP_HEADER_NAME, IMAGE_TAG, PROBE_PATH, StringMap, Model, Name,
                   CONTROLLER_OWNED_ANNOTATIONS)
from .workload import (ResourceAmounts, Resources, ProxyAmounts, ProxyResources, ISTIO_PROXY_RESOURCES, Probe,
                       Probes, RollingUpdate, Lifecycle, PodSecurity, ScalingPolicy, ScalingRules, ScalingBehavior, PodsMetric, Autoscaling, VerticalAutoscaling,
                       DisruptionBudget, Claim, IngressRoute, HelperProbes, Container, RbacRule)
from .secrets import SecretSource, SecretKey, SecretSpec
from .observability import (ServiceMonitorSpec, MetricNames, AlertThresholds, CustomAlert, Alerts, Observability,
                            Tracing, ObservabilitySettings)
from .delivery import Colour, BlueGreen, ConnectionPool, OutlierDetection, TrafficPolicy, Canary
from .service import ServiceSpec
from .platform import (Endpoint, Peer, NamespaceQuota, ContainerDefaults, NamespaceSpec, Cluster, Topology, Jwt,
                       Mesh, StorageClassSpec, Backups, PlatformSettings, PlatformConfig)

__all__ = [
    "DNS1123_LABEL",
    "HTTP_HEADER_NAME",
    "IMAGE_TAG",
    "PROBE_PATH",
    "StringMap",
    "Model",
    "Name",
    "CONTROLLER_OWNED_ANNOTATIONS",
    "ResourceAmounts",
    "Resources",
    "ProxyAmounts",
    "ProxyResources",
    "ISTIO_PROXY_RESOURCES",
    "Probe",
    "Probes",
    "RollingUpdate",
    "Lifecycle",
    "PodSecurity",
    "ScalingPolicy",
    "ScalingRules",
    "ScalingBehavior",
    "PodsMetric",
    "Autoscaling",
    "VerticalAutoscaling",
    "DisruptionBudget",
    "Claim",
    "IngressRoute",
    "HelperProbes",
    "Container",
    "RbacRule",
    "SecretSource",
    "SecretKey",
    "SecretSpec",
    "ServiceMonitorSpec",
    "MetricNames",
    "AlertThresholds",
    "CustomAlert",
    "Alerts",
    "Observability",
    "Tracing",
    "ObservabilitySettings",
    "Colour",
    "BlueGreen",
    "ConnectionPool",
    "OutlierDetection",
    "TrafficPolicy",
    "Canary",
    "ServiceSpec",
    "Endpoint",
    "Peer",
    "NamespaceQuota",
    "ContainerDefaults",
    "NamespaceSpec",
    "Cluster",
    "Topology",
    "Jwt",
    "Mesh",
    "StorageClassSpec",
    "Backups",
    "PlatformSettings",
    "PlatformConfig",
]
