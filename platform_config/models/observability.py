"""Metrics, alerts, dashboards and tracing: a service's own settings and the platform-wide switches.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import Model, StringMap


class ServiceMonitorSpec(Model):
    enabled: bool = True
    interval: str = "30s"
    scrape_timeout: str | None = None
    relabelings: list[dict] = []


class MetricNames(Model):
    """PromQL metric names (or selectors) the service exposes; alerts and dashboards use them.

    Defaults are Micrometer's (Spring Boot); a Node.js service names its own (seed 004).
    """

    requests_total: str = "http_server_requests_seconds_count"
    request_duration_bucket: str = "http_server_requests_seconds_bucket"
    status_label: str = "status"
    database_errors: str = "hikaricp_connections_timeout_total"
    redis_errors: str = "redis_connection_errors_total"
    cache_hits: str = 'cache_gets_total{result="hit"}'
    cache_misses: str = 'cache_gets_total{result="miss"}'
    batch_failures: str = 'spring_batch_job_seconds_count{status="FAILED"}'


class AlertThresholds(Model):
    cpu_ratio: float = Field(default=0.80, gt=0, le=1)
    memory_ratio: float = Field(default=0.85, gt=0, le=1)
    restarts_per_minute: float = Field(default=0.1, gt=0)
    p95_latency_seconds: float = Field(default=1.0, gt=0)
    error_ratio: float = Field(default=0.05, gt=0, le=1)
    cache_hit_ratio: float = Field(default=0.70, gt=0, le=1)
    batch_failures_per_minute: float = Field(default=0.1, gt=0)


class CustomAlert(Model):
    alert: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    expr: str = Field(min_length=1)
    for_: str = Field(default="5m", alias="for")
    severity: Literal["critical", "warning", "info"] = "warning"
    summary: str
    description: str
    runbook: str | None = None


class Alerts(Model):
    enabled: bool = True
    thresholds: AlertThresholds = AlertThresholds()
    extra: list[CustomAlert] = []


class Observability(Model):
    metrics_path: str = Field(default="/metrics", description="The HTTP path of the metrics: the pods' "
                              "prometheus.io/path annotation and the ServiceMonitor's endpoint path alike.")
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    service_monitor: ServiceMonitorSpec = ServiceMonitorSpec()
    metrics: MetricNames = MetricNames()
    alerts: Alerts = Alerts()
    dashboard: bool = True
    tracing: bool = True


class Tracing(Model):
    """OpenTelemetry export settings handed to every pod as OTEL_* env."""

    endpoint: str
    protocol: Literal["grpc", "http/protobuf"] = "grpc"
    sampler_ratio: float = Field(default=0.1, ge=0, le=1)
    collector: str | None = None


class ObservabilitySettings(Model):
    service_monitors: bool = True
    alerts: bool = True
    dashboards: bool = True
    runbook_base_url: str = "https://runbooks.micropay.com/alerts"
    monitor_labels: StringMap = {"release": "kube-prometheus-stack"}
    tracing: Tracing | None = None
