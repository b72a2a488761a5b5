"""Pure builders for a service's observability: ServiceMonitor, alert rules, dashboard, OTEL env.

Like the other spec modules, every function returns plain dicts in the API's own (camelCase)
form. Metric names come from ``service.observability.metrics`` and may already carry a label
selector (``cache_gets_total{result="hit"}``); ``merge_matchers`` adds the namespace/service
scoping to them so one expression works for Spring Boot and Node.js services alike.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache, partial

from platform_config.models import CustomAlert, ServiceSpec, Tracing

from .delivery import STRATEGY_TRACKS
from .workload import common_labels

API_VERSION = "monitoring.coreos.com/v1"
METRICS_PORT_NAME = "metrics"
HTTP_PORT_NAME = "http"
GRAFANA_DASHBOARD_LABEL = {"grafana_dashboard": "1"}
GRAFANA_SCHEMA_VERSION = 39
GRAFANA_UID_MAX = 40
# The `track` label of alerts that watch every pod of a service, whatever its delivery tracks.
ALL_TRACKS = "all"
# Pod labels copied onto the scraped series of a service with several tracks (podTargetLabels), so
# an alert can watch one track: every pod carries `app` (the service) and `version` (its track).
TRACK_TARGET_LABELS = ("app", "version")

# Kubernetes series the alerts and dashboards read, by the exporter that provides them. They are not
# scraped by this program's ServiceMonitors but by kube-prometheus-stack's own (kubelet/cAdvisor and
# kube-state-metrics), which every stack relies on (`monitorLabels` selects that Prometheus).
CPU_USAGE = "container_cpu_usage_seconds_total"
MEMORY_WORKING_SET = "container_memory_working_set_bytes"
RESOURCE_LIMITS = "kube_pod_container_resource_limits"
RESOURCE_REQUESTS = "kube_pod_container_resource_requests"
RESTARTS = "kube_pod_container_status_restarts_total"
KUBERNETES_EXPORTER_METRICS = {
    "kubelet-cadvisor": (CPU_USAGE, MEMORY_WORKING_SET),
    "kube-state-metrics": (RESOURCE_LIMITS, RESOURCE_REQUESTS, RESTARTS),
}

# --- PromQL selectors -------------------------------------------------------------------------
# Only what building selectors needs: split a configured metric name or selector into its name and
# matchers so the scoping matchers can be added. Whether the resulting expressions are valid PromQL is
# Prometheus' parser's call (tests/test_promtool.py runs promtool and the parser over every rule and
# panel), not a second grammar here.

_METRIC = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*(?:\{(.*)\})?\s*$", re.DOTALL)
_MATCHER = re.compile(
    r"""\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)\s*(,|$)""",
    re.DOTALL)

Matcher = tuple[str, str, str]


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _unquote(raw: str) -> str:
    if raw.startswith("`"):
        return raw[1:-1]
    return re.sub(r"\\(.)", lambda escaped: {"n": "\n", "t": "\t"}.get(escaped.group(1), escaped.group(1)),
                  raw[1:-1])


# Every service's alerts parse the same few metric selectors: parse each once.
@lru_cache(maxsize=1024)
def _split(selector: str) -> tuple[str, tuple[tuple[str, str, str, str], ...]]:
    """``m{a="1"}`` -> ("m", ((label, operator, value, raw quoted value), ...)); raises on anything else."""
    found = _METRIC.match(selector)
    if not found or (found.group(1) is None and found.group(2) is None):
        raise ValueError(f"{selector!r} is not a PromQL metric name or selector")
    body, matchers, position = (found.group(2) or "").strip(), [], 0
    while position < len(body):
        matched = _MATCHER.match(body, position)
        if not matched or (matched.group(4) == "" and matched.end() < len(body)):
            raise ValueError(f"cannot read the label matchers of PromQL selector {selector!r}")
        name, operator, raw, _ = matched.groups()
        matchers.append((name, operator, _unquote(raw), raw))
        position = matched.end()
    return found.group(1) or "", tuple(matchers)


def selector_parts(selector: str) -> tuple[str, list[Matcher]]:
    """The metric name and the (label, operator, value) matchers of a configured metric selector."""
    name, matchers = _split(selector)
    return name, [(label, operator, value) for label, operator, value, _ in matchers]


def merge_matchers(selector: str, matchers: Mapping[str, str] | Iterable[Matcher] = ()) -> str:
    """Add label matchers to a metric name or selector: ``m{a="1"}`` + {b: 2} -> ``m{a="1",b="2"}``.

    A mapping means equality matchers; ``(label, operator, value)`` tuples allow ``=~`` and
    friends. Matchers are ANDed, as in PromQL: the selector's own ones stay, an exact repeat
    is dropped, and two different equality matchers on one label (which could never match)
    raise ValueError. The result has no spaces, so the same inputs always give the same text.
    """
    name, existing = _split(selector)
    if not name and not existing:
        raise ValueError(f"{selector!r} selects nothing: give a metric name or a label matcher")
    extra = [(label, "=", value) for label, value in matchers.items()] if isinstance(matchers, Mapping) \
        else [tuple(matcher) for matcher in matchers]
    seen = {(label, operator, value) for label, operator, value, _ in existing}
    equal = {label: value for label, operator, value, _ in existing if operator == "="}
    parts = [f"{label}{operator}{raw}" for label, operator, _, raw in existing]
    for label, operator, value in extra:
        if (label, operator, value) in seen:
            continue
        if operator == "=" and equal.get(label, value) != value:
            raise ValueError(f"{selector!r} already requires {label}={_quote(equal[label])}, "
                             f"so adding {label}={_quote(value)} would match nothing")
        seen.add((label, operator, value))
        if operator == "=":
            equal[label] = value
        parts.append(f"{label}{operator}{_quote(value)}")
    return f"{name}{{{','.join(parts)}}}" if parts else name


def _number(value: float) -> str:
    """0.8 -> '0.8', 1.0 -> '1': thresholds as a person would write them in PromQL."""
    return f"{value:g}"


def camel_case(service_name: str) -> str:
    """``payment-service`` -> ``PaymentService``: the prefix that makes alert names unique."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", service_name) if part)


# --- ServiceMonitor ---------------------------------------------------------------------------

def service_monitor_name(service_name: str) -> str:
    return f"{service_name}-monitor"


def metrics_port_name(service: ServiceSpec) -> str:
    """The Service port Prometheus scrapes: a separate ``metrics`` port, else the ``http`` one."""
    port = service.observability.metrics_port
    return METRICS_PORT_NAME if port and port != service.port else HTTP_PORT_NAME


# Where Istio's documented set-up mounts the mesh certificates into Prometheus
# ("Prometheus with mTLS"): scraping a STRICT workload from outside the mesh needs them.
ISTIO_PROMETHEUS_TLS = {
    "caFile": "/etc/prom-certs/root-cert.pem",
    "certFile": "/etc/prom-certs/cert-chain.pem",
    "keyFile": "/etc/prom-certs/key.pem",
    "insecureSkipVerify": True,
}


def tracks(service: ServiceSpec) -> list[str]:
    """Every track its strategy can run (pods' ``version`` label), running now or not, so that the
    scrape labels and per-track alerts stay put through a release: starting a canary or deploying the
    idle colour changes its Deployment and the routing, not the monitoring. A rolling service: none."""
    return list(STRATEGY_TRACKS[service.delivery])


def service_monitor(service_name: str, namespace: str, service: ServiceSpec,
                    monitor_labels: Mapping[str, str], mesh_tls: bool = False) -> dict:
    """The ServiceMonitor (metadata and spec) that has the Prometheus Operator scrape the service.

    A service with several tracks has its pods' ``app`` and ``version`` labels copied onto its
    series, which the per-track alerts select. With Istio STRICT mTLS (``mesh_tls``) the sidecar refuses plain HTTP, so Prometheus scrapes
    over HTTPS with the mesh certificates; Istio's identities are SPIFFE URIs, not host names,
    hence no host name verification.
    """
    settings = service.observability.service_monitor
    endpoint: dict = {"port": metrics_port_name(service), "path": service.observability.metrics_path, "interval": settings.interval,
                      "scheme": "https" if mesh_tls else "http"}
    if mesh_tls:
        endpoint["tlsConfig"] = dict(ISTIO_PROMETHEUS_TLS)
    if settings.scrape_timeout:
        endpoint["scrapeTimeout"] = settings.scrape_timeout
    if settings.relabelings:
        endpoint["relabelings"] = [dict(rule) for rule in settings.relabelings]
    spec: dict = {
        "selector": {"matchLabels": {"app": service_name}},
        "namespaceSelector": {"matchNames": [namespace]},
        "endpoints": [endpoint],
    }
    if tracks(service):
        spec["podTargetLabels"] = list(TRACK_TARGET_LABELS)
    return {
        "metadata": {"name": service_monitor_name(service_name), "namespace": namespace,
                     "labels": {**common_labels(service_name, service), **monitor_labels}},
        "spec": spec,
    }


# --- PrometheusRule ---------------------------------------------------------------------------

def alert_rules_name(service_name: str) -> str:
    return f"{service_name}-alerts"


def runbook_url(base_url: str, alert: str) -> str:
    return f"{base_url.rstrip('/')}/{alert.lower()}"


def _alert(name: str, expr: str, duration: str, severity: str, summary: str, description: str,
           service_name: str, namespace: str, runbook: str, track: str = ALL_TRACKS) -> dict:
    return {
        "alert": name,
        "expr": expr,
        "for": duration,
        "labels": {"severity": severity, "service": service_name, "namespace": namespace, "track": track},
        "annotations": {"summary": summary, "description": description, "runbook_url": runbook},
    }


@dataclass(frozen=True)
class StandardAlert:
    """One of the standard alerts every service gets; its name is the service's prefix + ``suffix``."""
    suffix: str
    duration: str
    severity: str
    expr: str
    summary: str
    description: str


SERVER_ERRORS = "5.."
# The 5xx alert's suffix: the service-wide alert's, and after the track that of each per-track copy.
ERROR_RATE_SUFFIX = "HighErrorRate"


def _scoped(scope: Mapping[str, str], metric: str, *extra: Matcher) -> str:
    return merge_matchers(metric, [*((key, "=", value) for key, value in scope.items()), *extra])


def _error_ratio(select, metrics) -> str:
    """The share of 5xx requests, through a selector builder (a service's or one track's series)."""
    errors = f"rate({select(metrics.requests_total, (metrics.status_label, '=~', SERVER_ERRORS))}[5m])"
    return f"sum({errors}) / sum(rate({select(metrics.requests_total)}[5m]))"


def _error_rate_alert(suffix: str, subject: str, where: str, select, service: ServiceSpec) -> StandardAlert:
    """The 5xx-ratio alert over the series ``select`` scopes: the whole service's, or one track's."""
    threshold = service.observability.alerts.thresholds.error_ratio
    return StandardAlert(
        suffix, "5m", "critical",
        f"{_error_ratio(select, service.observability.metrics)} > {_number(threshold)}",
        f"{subject} answers with many 5xx errors",
        f"{{{{ $value | humanizePercentage }}}} of the requests to {where} fail with a 5xx "
        f"status (threshold {threshold:.0%}) for 5 minutes.")


class _Queries:
    """The PromQL of one service that its alerts and its dashboard panels both read, so both agree.

    cAdvisor and kube-state-metrics series carry namespace/pod/container (the main container is
    named after the service); series scraped by the ServiceMonitor carry namespace/service.
    """

    def __init__(self, service_name: str, namespace: str, service: ServiceSpec):
        self.metrics = service.observability.metrics
        self._container = {"namespace": namespace, "container": service_name}
        self.app = partial(_scoped, {"namespace": namespace, "service": service_name})

    def container(self, metric: str, **extra: str) -> str:
        return merge_matchers(metric, {**self._container, **extra})

    def rate(self, metric: str) -> str:
        return f"rate({self.app(metric)}[5m])"

    def cpu(self) -> str:
        return f"rate({self.container(CPU_USAGE)}[5m])"

    def latency(self, quantile: float) -> str:
        buckets = self.rate(self.metrics.request_duration_bucket)
        return f"histogram_quantile({_number(quantile)}, sum by (le) ({buckets}))"

    def cache_hit_ratio(self) -> str:
        hits, misses = self.rate(self.metrics.cache_hits), self.rate(self.metrics.cache_misses)
        return f"sum({hits}) / (sum({hits}) + sum({misses}))"


def standard_alerts(service_name: str, namespace: str, service: ServiceSpec) -> list[StandardAlert]:
    """The ten standard alerts of seed 004, in its order."""
    metrics = service.observability.metrics
    limits = service.observability.alerts.thresholds
    query = _Queries(service_name, namespace, service)
    up = query.app("up")
    where = f"{service_name} in {namespace}"
    pod = "Pod {{ $labels.pod }} of " + where

    def per_pod_ratio(usage: str, resource: str) -> str:
        return (f"sum by (namespace, pod) ({usage}) / "
                f"sum by (namespace, pod) ({query.container(RESOURCE_LIMITS, resource=resource)})")

    return [
        StandardAlert(
            "HighCPUUsage", "5m", "warning",
            f"{per_pod_ratio(query.cpu(), 'cpu')} > {_number(limits.cpu_ratio)}",
            f"High CPU usage of {service_name}",
            f"{pod} uses {{{{ $value | humanizePercentage }}}} of its CPU limit "
            f"(threshold {limits.cpu_ratio:.0%}) for 5 minutes."),
        StandardAlert(
            "HighMemoryUsage", "5m", "warning",
            f"{per_pod_ratio(query.container(MEMORY_WORKING_SET), 'memory')} > {_number(limits.memory_ratio)}",
            f"High memory usage of {service_name}",
            f"{pod} uses {{{{ $value | humanizePercentage }}}} of its memory limit "
            f"(threshold {limits.memory_ratio:.0%}) for 5 minutes."),
        StandardAlert(
            "HighRestartRate", "5m", "warning",
            f"sum by (namespace, pod) (rate({query.container(RESTARTS)}[15m])) * 60 "
            f"> {_number(limits.restarts_per_minute)}",
            f"{service_name} pods restart often",
            f"{pod} restarts {{{{ $value | printf \"%.2f\" }}}} times a minute "
            f"(threshold {_number(limits.restarts_per_minute)})."),
        StandardAlert(
            "ServiceDown", "1m", "critical",
            f"sum({up}) == 0 or absent({up})",
            f"{service_name} is down",
            f"Prometheus has had no healthy target of {where} for 1 minute."),
        StandardAlert(
            "HighResponseTime", "5m", "warning",
            f"{query.latency(0.95)} > {_number(limits.p95_latency_seconds)}",
            f"{service_name} responds slowly",
            f"The 95th percentile response time of {where} is {{{{ $value | humanizeDuration }}}} "
            f"(threshold {_number(limits.p95_latency_seconds)}s)."),
        _error_rate_alert(ERROR_RATE_SUFFIX, service_name, where, query.app, service),
        StandardAlert(
            "DatabaseConnectionFailures", "2m", "critical",
            f"sum({query.rate(metrics.database_errors)}) > 0",
            f"{service_name} cannot connect to its database",
            f"{where} reports database connection failures."),
        StandardAlert(
            "RedisConnectionFailures", "2m", "warning",
            f"sum({query.rate(metrics.redis_errors)}) > 0",
            f"{service_name} cannot connect to Redis",
            f"{where} reports Redis connection failures."),
        StandardAlert(
            "LowCacheHitRate", "10m", "warning",
            f"{query.cache_hit_ratio()} < {_number(limits.cache_hit_ratio)}",
            f"Low cache hit rate of {service_name}",
            f"The cache hit rate of {where} is {{{{ $value | humanizePercentage }}}} "
            f"(threshold {limits.cache_hit_ratio:.0%}) for 10 minutes."),
        StandardAlert(
            "BatchOperationFailures", "5m", "warning",
            f"sum({query.rate(metrics.batch_failures)}) * 60 > {_number(limits.batch_failures_per_minute)}",
            f"{service_name} batch operations fail",
            f"{where} fails {{{{ $value | printf \"%.2f\" }}}} batch operations a minute "
            f"(threshold {_number(limits.batch_failures_per_minute)})."),
    ]


def track_alert_name(service_name: str, track: str) -> str:
    """``api-gateway``, ``canary`` -> ``ApiGatewayCanaryHighErrorRate``."""
    return camel_case(service_name) + camel_case(track) + ERROR_RATE_SUFFIX


def track_alerts(service_name: str, namespace: str, service: ServiceSpec, runbook_base_url: str) -> list[dict]:
    """One 5xx-ratio alert per track of a canary or blue-green service, labelled with its track.

    The service-wide HighErrorRate cannot tell a failing canary (roll it back) from a failing
    stable track; these select the track's pods through the ``version`` label.
    """
    rules = []
    for track in tracks(service):
        select = partial(_scoped, {"namespace": namespace, "app": service_name, "version": track})
        alert = _error_rate_alert(ERROR_RATE_SUFFIX, f"The {track} track of {service_name}",
                                  f"the {track} track of {service_name} in {namespace}", select, service)
        rules.append(_standard_rule(track_alert_name(service_name, track), alert, service_name, namespace,
                                    runbook_base_url, track))
    return rules


def _standard_rule(name: str, alert: StandardAlert, service_name: str, namespace: str, runbook_base_url: str,
                   track: str = ALL_TRACKS) -> dict:
    return _alert(name, alert.expr, alert.duration, alert.severity, alert.summary, alert.description,
                  service_name, namespace, runbook_url(runbook_base_url, name), track)


def _custom(alert: CustomAlert, service_name: str, namespace: str, runbook_base_url: str) -> dict:
    return _alert(alert.alert, alert.expr, alert.for_, alert.severity, alert.summary, alert.description,
                  service_name, namespace, alert.runbook or runbook_url(runbook_base_url, alert.alert))


def alert_rules(service_name: str, namespace: str, service: ServiceSpec, runbook_base_url: str) -> dict:
    """The PrometheusRule spec: one group with the ten standard alerts and the service's extras."""
    prefix = camel_case(service_name)
    rules = [_standard_rule(prefix + alert.suffix, alert, service_name, namespace, runbook_base_url)
             for alert in standard_alerts(service_name, namespace, service)]
    rules += track_alerts(service_name, namespace, service, runbook_base_url)
    rules += [_custom(alert, service_name, namespace, runbook_base_url)
              for alert in service.observability.alerts.extra]
    return {"groups": [{"name": f"{service_name}.rules", "rules": rules}]}


# --- Grafana dashboard ------------------------------------------------------------------------

def dashboard_uid(service_name: str) -> str:
    """Grafana uids are at most 40 characters; a longer name keeps its start and a digest."""
    if len(service_name) <= GRAFANA_UID_MAX:
        return service_name
    digest = hashlib.sha256(service_name.encode()).hexdigest()[:8]
    return f"{service_name[:GRAFANA_UID_MAX - 9]}-{digest}"


DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def _panel(panel_id: int, title: str, unit: str, targets: list[tuple[str, str]], x: int, y: int,
           description: str, thresholds: float | None = None) -> dict:
    defaults: dict = {"unit": unit}
    if thresholds is not None:
        defaults["thresholds"] = {"mode": "absolute", "steps": [
            {"color": "green", "value": None}, {"color": "red", "value": thresholds}]}
        defaults["custom"] = {"thresholdsStyle": {"mode": "line"}}
    return {
        "id": panel_id,
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}},
        "targets": [{"refId": chr(ord("A") + index), "datasource": DATASOURCE, "expr": expr,
                     "legendFormat": legend} for index, (expr, legend) in enumerate(targets)],
    }


def dashboard_model(service_name: str, namespace: str, service: ServiceSpec) -> dict:
    """The Grafana dashboard of one service, with the same metric names as its alerts."""
    metrics = service.observability.metrics
    limits = service.observability.alerts.thresholds
    query = _Queries(service_name, namespace, service)

    def resource(metric: str, kind: str) -> str:
        return f"sum({query.container(metric, resource=kind)})"

    status = metrics.status_label
    panels = [
        _panel(1, "Request rate", "reqps",
               [(f"sum by ({status}) ({query.rate(metrics.requests_total)})", f"{{{{{status}}}}}")],
               0, 0, f"Requests per second by {status}, from {metrics.requests_total}."),
        _panel(2, "Latency percentiles", "s",
               [(query.latency(quantile), f"p{round(quantile * 100)}") for quantile in (0.5, 0.95, 0.99)],
               12, 0, f"p50, p95 and p99 response time, from {metrics.request_duration_bucket}.",
               limits.p95_latency_seconds),
        _panel(3, "Error rate", "percentunit", [(_error_ratio(query.app, metrics), "5xx ratio")],
               0, 8, "Share of requests answered with a 5xx status.", limits.error_ratio),
        _panel(4, "CPU usage vs requests and limits", "short",
               [(f"sum({query.cpu()})", "usage"),
                (resource(RESOURCE_REQUESTS, "cpu"), "requests"),
                (resource(RESOURCE_LIMITS, "cpu"), "limits")],
               12, 8, "CPU cores used by all pods of the service, against their requests and limits."),
        _panel(5, "Memory usage vs requests and limits", "bytes",
               [(f"sum({query.container(MEMORY_WORKING_SET)})", "usage"),
                (resource(RESOURCE_REQUESTS, "memory"), "requests"),
                (resource(RESOURCE_LIMITS, "memory"), "limits")],
               0, 16, "Working-set memory of all pods of the service, against their requests and limits."),
        _panel(6, "Restarts", "short",
               [(f"sum by (pod) (increase({query.container(RESTARTS)}[15m]))", "{{pod}}")],
               12, 16, "Container restarts per pod over the last 15 minutes."),
        _panel(7, "Cache hit rate", "percentunit", [(query.cache_hit_ratio(), "hit ratio")],
               0, 24, f"Cache hits / (hits + misses), from {metrics.cache_hits} and {metrics.cache_misses}.",
               limits.cache_hit_ratio),
    ]
    return {
        "uid": dashboard_uid(service_name),
        "title": f"{service_name} ({namespace})",
        "tags": ["micropay", namespace, service_name],
        "timezone": "utc",
        "schemaVersion": GRAFANA_SCHEMA_VERSION,
        "version": 1,
        "editable": False,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [{"name": "datasource", "label": "Data source", "type": "datasource",
                                 "query": "prometheus", "current": {}, "hide": 0}]},
        "annotations": {"list": []},
        "panels": panels,
    }


def dashboard_file_name(service_name: str) -> str:
    return f"{service_name}.json"


def dashboard(service_name: str, namespace: str, service: ServiceSpec) -> dict[str, str]:
    """ConfigMap data for Grafana's dashboard sidecar: ``{"<service>.json": <dashboard JSON>}``."""
    model = dashboard_model(service_name, namespace, service)
    return {dashboard_file_name(service_name): json.dumps(model, indent=2, sort_keys=True)}


# --- OpenTelemetry ----------------------------------------------------------------------------

def tracing_env(service_name: str, tag: str, environment: str, tracing: Tracing) -> dict[str, str]:
    """The OTEL_* variables of the OpenTelemetry SDKs and agents, pointing at the collector."""
    return {
        "OTEL_SERVICE_NAME": service_name,
        "OTEL_EXPORTER_OTLP_ENDPOINT": tracing.endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": tracing.protocol,
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": _number(tracing.sampler_ratio),
        "OTEL_RESOURCE_ATTRIBUTES": f"service.version={tag},deployment.environment={environment}",
    }
