"""ObservabilityBundle: how the monitoring stack sees one service.

A Prometheus Operator ServiceMonitor (scrape), a PrometheusRule (the ten standard alerts plus
the service's own) and a Grafana dashboard ConfigMap, each created only when both the platform
(``platform.observability``) and the service (``observability``) enable it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from platform_config.models import ObservabilitySettings, ServiceSpec
from specs import observability as observability_specs
from specs import workload as workload_specs


@dataclass(frozen=True)
class ObservabilityBundleArgs:
    spec: ServiceSpec
    settings: ObservabilitySettings
    mesh_tls: bool = False


class ObservabilityBundle(pulumi.ComponentResource):
    namespace: str
    service_monitor: str | None
    prometheus_rule: str | None
    dashboard: str | None

    def __init__(self, name: str, args: ObservabilityBundleArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("micropay:observability:ObservabilityBundle", name, None, opts)
        self._args = args
        self._service = service = name
        spec, settings = args.spec, args.settings
        observability = spec.observability
        self.namespace = spec.namespace
        self.service_monitor = self.prometheus_rule = self.dashboard = None

        if settings.service_monitors and observability.service_monitor.enabled:
            body = observability_specs.service_monitor(service, self.namespace, spec, settings.monitor_labels,
                                                       args.mesh_tls)
            self.service_monitor = observability_specs.service_monitor_name(service)
            k8s.apiextensions.CustomResource(
                f"{name}-service-monitor", api_version=observability_specs.API_VERSION, kind="ServiceMonitor",
                metadata=body["metadata"], spec=body["spec"], opts=pulumi.ResourceOptions(parent=self))
        if settings.alerts and observability.alerts.enabled:
            self.prometheus_rule = observability_specs.alert_rules_name(service)
            k8s.apiextensions.CustomResource(
                f"{name}-prometheus-rule", api_version=observability_specs.API_VERSION, kind="PrometheusRule",
                metadata=self._metadata(self.prometheus_rule, settings.monitor_labels),
                spec=observability_specs.alert_rules(service, self.namespace, spec, settings.runbook_base_url),
                opts=pulumi.ResourceOptions(parent=self))
        if settings.dashboards and observability.dashboard:
            self.dashboard = f"{service}-dashboard"
            k8s.core.v1.ConfigMap(
                f"{name}-dashboard",
                metadata=self._metadata(self.dashboard, observability_specs.GRAFANA_DASHBOARD_LABEL),
                data=observability_specs.dashboard(service, self.namespace, spec),
                opts=pulumi.ResourceOptions(parent=self))

        self.register_outputs(self.stack_outputs())

    def stack_outputs(self) -> dict[str, object]:
        """The names of the objects made (the ones the platform or service turned off are left out)."""
        created = {"serviceMonitor": self.service_monitor, "prometheusRule": self.prometheus_rule,
                   "dashboard": self.dashboard}
        return {key: object_name for key, object_name in created.items() if object_name}

    def _metadata(self, object_name: str, extra_labels: dict[str, str]) -> dict:
        return {"name": object_name, "namespace": self.namespace,
                "labels": {**workload_specs.common_labels(self._service, self._args.spec), **extra_labels}}
