"""Observability: ServiceMonitor, alert rules, Grafana dashboard and OTEL env, per service and per stack."""

import json
import os
import re
from functools import lru_cache
from pathlib import Path

import jsonschema
import pytest

from conftest import objects, rendered
from invariants import labels_match
from platform_config.models import ServiceSpec, Tracing
from specs import observability as obs

CRD_SCHEMAS = Path(os.environ.get("MICROPAY_CRD_SCHEMAS")
                   or Path(__file__).resolve().parents[2] / "shared/schemas/crds")

BASE = {
    "namespace": "micropay-payment",
    "image": "registry.micropay.com/payment-service",
    "tag": "1.0.0",
    "port": 8080,
    "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}},
    "probes": {"startup": {"path": "/actuator/health"}, "liveness": {"path": "/actuator/health/liveness"},
               "readiness": {"path": "/actuator/health/readiness"}},
}
RUNBOOKS = "https://runbooks.micropay.com/alerts"
STANDARD = ["HighCPUUsage", "HighMemoryUsage", "HighRestartRate", "ServiceDown", "HighResponseTime",
            "HighErrorRate", "DatabaseConnectionFailures", "RedisConnectionFailures", "LowCacheHitRate",
            "BatchOperationFailures"]


def service(**observability) -> ServiceSpec:
    return ServiceSpec.model_validate({**BASE, "observability": observability})


def rules_of(spec: ServiceSpec, name: str = "payment-service") -> dict[str, dict]:
    groups = obs.alert_rules(name, spec.namespace, spec, RUNBOOKS)["groups"]
    assert [group["name"] for group in groups] == [f"{name}.rules"]
    return {rule["alert"]: rule for rule in groups[0]["rules"]}


# --- label matchers ---------------------------------------------------------------------------

@pytest.mark.parametrize("selector,extra,expected", [
    ("http_requests_total", {"namespace": "a"}, 'http_requests_total{namespace="a"}'),
    ('cache_gets_total{result="hit"}', {"namespace": "a", "service": "b"},
     'cache_gets_total{result="hit",namespace="a",service="b"}'),
    ('m{ result = "hit" , }', {"service": "b"}, 'm{result="hit",service="b"}'),
    ('m{a="1,}"}', {"b": "2"}, 'm{a="1,}",b="2"}'),
    ("m{a=~'x|y'}", [("b", "!~", "z")], "m{a=~'x|y',b!~\"z\"}"),
    ("m", [("status", "=~", "5..")], 'm{status=~"5.."}'),
    ('m{a="1"}', {"a": "1"}, 'm{a="1"}'),
    ('m{a="1"}', [("a", "!=", "2")], 'm{a="1",a!="2"}'),
    ("m", {"a": 'say "hi"'}, 'm{a="say \\"hi\\""}'),
    ('{__name__="m"}', {"a": "1"}, '{__name__="m",a="1"}'),
    ("m{}", {}, "m"),
])
def test_merge_matchers(selector, extra, expected):
    assert obs.merge_matchers(selector, extra) == expected


@pytest.mark.parametrize("selector,extra", [
    ("", {}), ("{}", {}), ("9m", {}), ("m{a}", {}), ('m{a="1" b="2"}', {}), ("rate(m[5m])", {}),
    ('m{a="1"}', {"a": "2"}),
])
def test_merge_matchers_refuses_what_it_cannot_merge(selector, extra):
    # Invalid label names or operators are not refused here: Prometheus' parser rejects the
    # expression (tests/test_promtool.py::test_selectors_the_parser_rejects).
    with pytest.raises(ValueError):
        obs.merge_matchers(selector, extra)


# --- alert rules ------------------------------------------------------------------------------

def test_ten_standard_alerts_with_seed_thresholds_and_durations():
    rules = rules_of(service())
    assert list(rules) == [f"PaymentService{suffix}" for suffix in STANDARD]
    expected = {
        "HighCPUUsage": ("5m", "> 0.8"), "HighMemoryUsage": ("5m", "> 0.85"),
        "HighRestartRate": ("5m", "> 0.1"), "ServiceDown": ("1m", "absent("),
        "HighResponseTime": ("5m", "> 1"), "HighErrorRate": ("5m", "> 0.05"),
        "DatabaseConnectionFailures": (None, "> 0"), "RedisConnectionFailures": (None, "> 0"),
        "LowCacheHitRate": ("10m", "< 0.7"), "BatchOperationFailures": (None, "> 0.1"),
    }
    for suffix, (duration, fragment) in expected.items():
        rule = rules[f"PaymentService{suffix}"]
        if duration:
            assert rule["for"] == duration, suffix
        assert fragment in rule["expr"], (suffix, rule["expr"])
    assert rules["PaymentServiceServiceDown"]["labels"]["severity"] == "critical"


def test_alert_expressions_use_the_seed_metrics_and_scope_to_the_service():
    rules = rules_of(service())
    scope = 'namespace="micropay-payment",service="payment-service"'
    container = 'namespace="micropay-payment",container="payment-service"'
    cpu = rules["PaymentServiceHighCPUUsage"]["expr"]
    assert f"container_cpu_usage_seconds_total{{{container}}}" in cpu
    assert f'kube_pod_container_resource_limits{{{container},resource="cpu"}}' in cpu
    assert f'kube_pod_container_resource_limits{{{container},resource="memory"}}' in \
        rules["PaymentServiceHighMemoryUsage"]["expr"]
    assert "container_memory_working_set_bytes" in rules["PaymentServiceHighMemoryUsage"]["expr"]
    assert "kube_pod_container_status_restarts_total" in rules["PaymentServiceHighRestartRate"]["expr"]
    assert rules["PaymentServiceServiceDown"]["expr"] == f"sum(up{{{scope}}}) == 0 or absent(up{{{scope}}})"
    assert f"histogram_quantile(0.95, sum by (le) (rate(http_server_requests_seconds_bucket{{{scope}}}[5m])))" \
        in rules["PaymentServiceHighResponseTime"]["expr"]
    assert f'http_server_requests_seconds_count{{{scope},status=~"5.."}}' in \
        rules["PaymentServiceHighErrorRate"]["expr"]
    assert f'cache_gets_total{{result="hit",{scope}}}' in rules["PaymentServiceLowCacheHitRate"]["expr"]
    assert f'cache_gets_total{{result="miss",{scope}}}' in rules["PaymentServiceLowCacheHitRate"]["expr"]
    assert f'spring_batch_job_seconds_count{{status="FAILED",{scope}}}' in \
        rules["PaymentServiceBatchOperationFailures"]["expr"]


def test_every_alert_has_labels_and_annotations():
    spec = service(alerts={"extra": [{"alert": "FinanceSnapshotCreationFailures",
                                      "expr": "rate(eventstore_snapshot_errors_total[5m]) > 0.05",
                                      "severity": "critical", "summary": "s", "description": "d"}]})
    rules = rules_of(spec)
    assert len(rules) == 11
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in ("critical", "warning", "info"), name
        assert rule["labels"]["service"] == "payment-service"
        assert rule["labels"]["namespace"] == "micropay-payment"
        assert rule["labels"]["track"] == obs.ALL_TRACKS
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name
        assert rule["annotations"]["runbook_url"] == f"{RUNBOOKS}/{name.lower()}"
        assert re.fullmatch(r"\d+[smh]", rule["for"]), name


def test_thresholds_and_metric_names_come_from_config():
    spec = service(
        metrics={"requestsTotal": "http_requests_total",
                 "requestDurationBucket": "http_request_duration_seconds_bucket",
                 "statusLabel": "status_code", "cacheHits": "user_cache_hits_total",
                 "cacheMisses": "user_cache_misses_total",
                 "batchFailures": 'user_batch_operations_total{result="failed"}'},
        alerts={"thresholds": {"cpuRatio": 0.9, "p95LatencySeconds": 0.5, "errorRatio": 0.01, "cacheHitRatio": 0.6,
                               "batchFailuresPerMinute": 2}})
    rules = rules_of(spec, "user-service")
    assert rules["UserServiceHighCPUUsage"]["expr"].endswith("> 0.9")
    assert rules["UserServiceHighResponseTime"]["expr"].endswith("> 0.5")
    assert 'http_request_duration_seconds_bucket{namespace="micropay-payment",service="user-service"}' in \
        rules["UserServiceHighResponseTime"]["expr"]
    error = rules["UserServiceHighErrorRate"]["expr"]
    assert 'status_code=~"5.."' in error and error.endswith("> 0.01")
    assert "user_cache_hits_total{" in rules["UserServiceLowCacheHitRate"]["expr"]
    assert rules["UserServiceLowCacheHitRate"]["expr"].endswith("< 0.6")
    batch = rules["UserServiceBatchOperationFailures"]["expr"]
    assert 'user_batch_operations_total{result="failed",namespace=' in batch and batch.endswith("> 2")


def test_extra_alerts_keep_their_fields_and_runbook():
    spec = service(alerts={"extra": [
        {"alert": "FinanceSnapshotHighLatency", "for": "10m", "severity": "warning", "summary": "slow snapshots",
         "description": "p95 above 2s", "runbook": "https://wiki/snapshots",
         "expr": "histogram_quantile(0.95, sum(rate(eventstore_snapshot_duration_seconds_bucket[5m])) by (le)) > 2"}]})
    rule = rules_of(spec)["FinanceSnapshotHighLatency"]
    assert rule["for"] == "10m" and rule["expr"].endswith("> 2")
    assert rule["annotations"] == {"summary": "slow snapshots", "description": "p95 above 2s",
                                   "runbook_url": "https://wiki/snapshots"}




@pytest.mark.parametrize("delivery,expected", [
    ({"delivery": "canary", "canary": {"tag": "1.1.0", "weight": 10}}, ["stable", "canary"]),
    ({"delivery": "blueGreen", "blueGreen": {"active": "blue", "blue": {"tag": "1.0.0"}, "green": {"tag": "1.1.0"}}},
     ["blue", "green"]),
    # At rest too: the monitoring of a release is in place before it starts, and starting it changes none of it.
    ({"delivery": "canary"}, ["stable", "canary"]),
    ({"delivery": "blueGreen", "blueGreen": {"active": "blue", "blue": {"tag": "1.0.0"}}}, ["blue", "green"]),
    ({}, []),
])
def test_services_with_several_tracks_get_one_error_alert_per_track(delivery, expected):
    spec = ServiceSpec.model_validate({**BASE, **delivery})
    assert obs.tracks(spec) == expected
    rules = rules_of(spec)
    track_rules = {name: rule for name, rule in rules.items() if rule["labels"]["track"] != obs.ALL_TRACKS}
    assert list(track_rules) == [obs.track_alert_name("payment-service", track) for track in expected]
    for track in expected:
        rule = track_rules[obs.track_alert_name("payment-service", track)]
        assert rule["labels"]["track"] == track and rule["labels"]["severity"] == "critical"
        assert f'app="payment-service",version="{track}"' in rule["expr"] and rule["expr"].endswith("> 0.05")
    monitor = obs.service_monitor("payment-service", "micropay-payment", spec, {})["spec"]
    assert monitor.get("podTargetLabels") == (["app", "version"] if expected else None)


def test_camel_case_prefix():
    assert obs.camel_case("payment-service") == "PaymentService"
    assert obs.camel_case("fraud-detection-service") == "FraudDetectionService"
    assert obs.camel_case("api-gateway2") == "ApiGateway2"


# --- ServiceMonitor ---------------------------------------------------------------------------

def test_service_monitor_scrapes_http_port_by_default():
    body = obs.service_monitor("payment-service", "micropay-payment", service(
        metricsPath="/actuator/prometheus", serviceMonitor={"interval": "30s"}), {"release": "kube-prometheus-stack"})
    assert body["metadata"]["name"] == "payment-service-monitor"
    assert body["spec"]["endpoints"][0]["path"] == "/actuator/prometheus"   # the one metrics path
    assert body["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert body["spec"]["selector"] == {"matchLabels": {"app": "payment-service"}}
    assert body["spec"]["namespaceSelector"] == {"matchNames": ["micropay-payment"]}
    assert body["spec"]["endpoints"] == [
        {"port": "http", "path": "/actuator/prometheus", "interval": "30s", "scheme": "http"}]


def test_service_monitor_with_metrics_port_timeout_and_relabelings():
    relabel = {"sourceLabels": ["__meta_kubernetes_pod_label_snapshot_enabled"], "targetLabel": "snapshot_enabled"}
    spec = service(metricsPort=9090, serviceMonitor={"interval": "15s", "scrapeTimeout": "10s",
                                                     "relabelings": [relabel]})
    endpoint = obs.service_monitor("finance-service", "finance", spec, {})["spec"]["endpoints"][0]
    assert endpoint == {"port": "metrics", "path": "/metrics", "interval": "15s", "scheme": "http",
                        "scrapeTimeout": "10s", "relabelings": [relabel]}
    same_port = service(metricsPort=8080)
    assert obs.service_monitor("x", "y", same_port, {})["spec"]["endpoints"][0]["port"] == "http"


# --- dashboard --------------------------------------------------------------------------------

def test_dashboard_is_valid_grafana_json_with_the_six_topics():
    data = obs.dashboard("payment-service", "micropay-payment", service())
    assert list(data) == ["payment-service.json"]
    model = json.loads(data["payment-service.json"])
    assert model["uid"] == "payment-service" and len(model["uid"]) <= 40
    assert model["title"] and isinstance(model["schemaVersion"], int)
    titles = [panel["title"].lower() for panel in model["panels"]]
    for topic in ("request rate", "latency", "error rate", "cpu", "memory", "restarts"):
        assert any(topic in title for title in titles), topic
    ids = [panel["id"] for panel in model["panels"]]
    assert len(ids) == len(set(ids))
    for panel in model["panels"]:
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"} and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        assert panel["targets"] and all(target["expr"] and target["refId"] for target in panel["targets"])
    by_title = {panel["title"]: [target["expr"] for target in panel["targets"]] for panel in model["panels"]}
    latency = by_title["Latency percentiles"]
    assert [expr.split(",")[0] for expr in latency] == [
        "histogram_quantile(0.5", "histogram_quantile(0.95", "histogram_quantile(0.99"]
    for resource_panel in ("CPU usage vs requests and limits", "Memory usage vs requests and limits"):
        exprs = " ".join(by_title[resource_panel])
        assert "kube_pod_container_resource_requests" in exprs and "kube_pod_container_resource_limits" in exprs


def test_dashboard_uses_the_alert_metric_names():
    spec = service(metrics={"requestsTotal": "http_requests_total",
                            "requestDurationBucket": "http_request_duration_seconds_bucket"})
    text = obs.dashboard("user-service", "microservices", spec)["user-service.json"]
    assert "http_requests_total{" in text and "http_request_duration_seconds_bucket{" in text
    assert "http_server_requests" not in text


def test_long_service_names_get_a_short_uid():
    uid = obs.dashboard_uid("a" * 60)
    assert len(uid) <= 40 and uid != obs.dashboard_uid("a" * 59 + "b")


# --- tracing ----------------------------------------------------------------------------------

def test_tracing_env():
    tracing = Tracing(endpoint="http://otel-collector.observability.svc.cluster.local:4317", sampler_ratio=0.25)
    assert obs.tracing_env("payment-service", "1.2.3", "production", tracing) == {
        "OTEL_SERVICE_NAME": "payment-service",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector.observability.svc.cluster.local:4317",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "0.25",
        "OTEL_RESOURCE_ATTRIBUTES": "service.version=1.2.3,deployment.environment=production",
    }


# --- rendered stacks --------------------------------------------------------------------------

def test_every_service_monitor_selects_a_service_with_its_port(stack):
    services = objects(stack, "Service")
    for monitor in objects(stack, "ServiceMonitor"):
        spec = monitor["spec"]
        namespaces = spec["namespaceSelector"]["matchNames"]
        selected = [item for item in services if item["metadata"]["namespace"] in namespaces
                    and labels_match(spec["selector"]["matchLabels"], item["metadata"].get("labels", {}))]
        assert selected, f"{monitor['metadata']['name']} selects no Service"
        for endpoint in spec["endpoints"]:
            assert any(endpoint["port"] in {port.get("name") for port in item["spec"]["ports"]}
                       for item in selected), f"{monitor['metadata']['name']}: no Service port {endpoint['port']}"


def test_every_service_has_its_monitor_rules_and_dashboard(stack):
    apps = {(item["metadata"]["namespace"], item["spec"]["template"]["metadata"]["labels"]["app"])
            for item in objects(stack, "Deployment")}
    for kind, suffix in (("ServiceMonitor", "monitor"), ("PrometheusRule", "alerts"), ("ConfigMap", "dashboard")):
        present = {(item["metadata"]["namespace"], item["metadata"]["name"]) for item in objects(stack, kind)}
        assert {(namespace, f"{app}-{suffix}") for namespace, app in apps} <= present, kind
    for dashboard in (item for item in objects(stack, "ConfigMap") if item["metadata"]["name"].endswith("-dashboard")):
        assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
        for text in dashboard["data"].values():
            json.loads(text)


def test_alert_names_are_unique_across_the_cluster(stack):
    names = [rule["alert"] for item in objects(stack, "PrometheusRule")
             for group in item["spec"]["groups"] for rule in group["rules"]]
    assert len(names) == len(set(names))


def test_micropay_production_scrapes_actuator_every_30s():
    monitors = objects("production", "ServiceMonitor")
    assert len(monitors) == 12
    for monitor in monitors:
        endpoint = monitor["spec"]["endpoints"][0]
        assert (endpoint["path"], endpoint["interval"]) == ("/actuator/prometheus", "30s"), monitor["metadata"]["name"]
        assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"


@lru_cache(maxsize=None)
def crd_validator(kind: str):
    path = CRD_SCHEMAS / "monitoring.coreos.com" / f"{kind.lower()}_v1.json"
    if not path.is_file():
        pytest.fail(f"no CRD schema at {path} (set MICROPAY_CRD_SCHEMAS to the crds folder)")
    # No check_schema: the upstream schemas carry Go regexes (`^(?i)(abort|warn)?$`) that Python's
    # re rejects; they only matter for fields this project never sets.
    return jsonschema.Draft7Validator(json.loads(path.read_text()))


@pytest.mark.parametrize("kind", ["ServiceMonitor", "PrometheusRule"])
def test_rendered_objects_match_their_crd_schema(stack, kind):
    validator = crd_validator(kind)
    rendered_objects = objects(stack, kind)
    assert rendered_objects
    for item in rendered_objects:
        assert item["apiVersion"] == "monitoring.coreos.com/v1"
        errors = [f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
                  for error in validator.iter_errors(item)]
        assert errors == [], f"{kind} {item['metadata']['name']}: {errors}"


def test_service_monitor_with_relabelings_matches_the_crd_schema():
    spec = service(metricsPort=9090, serviceMonitor={"interval": "15s", "scrapeTimeout": "10s", "relabelings": [
        {"sourceLabels": ["__meta_kubernetes_pod_label_snapshot_enabled"], "targetLabel": "snapshot_enabled"}]})
    body = obs.service_monitor("finance-service", "finance", spec, {"release": "kube-prometheus-stack"})
    manifest = {"apiVersion": obs.API_VERSION, "kind": "ServiceMonitor", **body}
    assert list(crd_validator("ServiceMonitor").iter_errors(manifest)) == []
    bad = {**manifest, "spec": {**body["spec"], "endpoints": [{**body["spec"]["endpoints"][0], "interval": "15 s"}]}}
    assert list(crd_validator("ServiceMonitor").iter_errors(bad))


def test_production_pods_export_traces_under_their_app_name():
    deployments = objects("production", "Deployment")
    assert deployments
    for deployment in deployments:
        template = deployment["spec"]["template"]
        env = {item["name"]: item.get("value") for item in template["spec"]["containers"][0]["env"]}
        assert env["OTEL_SERVICE_NAME"] == template["metadata"]["labels"]["app"], deployment["metadata"]["name"]
        assert env["OTEL_TRACES_SAMPLER"] == "parentbased_traceidratio"
        version = template["metadata"]["labels"]["app.kubernetes.io/version"]
        assert env["OTEL_RESOURCE_ATTRIBUTES"] == f"service.version={version},deployment.environment=production"


# --- stack config drives the bundle -----------------------------------------------------------

def render_overridden(platform: dict | None = None, services: dict | None = None, stack: str = "production"):
    import copy

    from platform_config.loader import deep_merge
    from platform_config.stack import stack_file_config
    from tools.render import render_config

    settings, secrets, _ = stack_file_config(stack)
    settings = copy.deepcopy(settings)
    settings["platform"] = deep_merge(settings.get("platform") or {}, {"observability": platform or {}})
    settings["services"] = deep_merge(settings.get("services") or {}, services or {})
    return render_config(stack, settings, secrets)


def by_name(result, kind: str) -> dict[str, dict]:
    return {item["metadata"]["name"]: item for item in result.manifests if item["kind"] == kind}


def test_service_overrides_reach_the_rendered_objects():
    result = render_overridden(services={
        "user-service": {"env": {"OTEL_TRACES_SAMPLER_ARG": "1"}, "observability": {
            "metricsPort": 9464, "metricsPath": "/metrics", "serviceMonitor": {"interval": "15s", "scrapeTimeout": "10s"},
            "metrics": {"requestsTotal": "http_requests_total", "statusLabel": "status_code"},
            "alerts": {"thresholds": {"errorRatio": 0.02}, "extra": [{
                "alert": "UserServiceBatchBacklog", "expr": "user_batch_backlog > 100",
                "summary": "backlog", "description": "batch backlog above 100"}]}}},
        "reporting-service": {"observability": {"dashboard": False, "alerts": {"enabled": False}}},
        "audit-service": {"observability": {"serviceMonitor": {"enabled": False}, "tracing": False}},
    })
    monitors, rules, maps = (by_name(result, kind) for kind in ("ServiceMonitor", "PrometheusRule", "ConfigMap"))
    endpoint = monitors["user-service-monitor"]["spec"]["endpoints"][0]
    # Production runs Istio with STRICT mTLS: Prometheus scrapes with the mesh certificates.
    assert {key: value for key, value in endpoint.items() if key != "tlsConfig"} == {
        "port": "metrics", "path": "/metrics", "interval": "15s", "scrapeTimeout": "10s", "scheme": "https"}
    assert "metrics" in {port["name"] for port in by_name(result, "Service")["user-service"]["spec"]["ports"]}
    alerts = {rule["alert"]: rule for rule in rules["user-service-alerts"]["spec"]["groups"][0]["rules"]}
    assert 'http_requests_total{namespace="micropay-user",service="user-service",status_code=~"5.."}' in \
        alerts["UserServiceHighErrorRate"]["expr"]
    assert alerts["UserServiceHighErrorRate"]["expr"].endswith("> 0.02")
    assert alerts["UserServiceBatchBacklog"]["labels"]["namespace"] == "micropay-user"
    assert "reporting-service-dashboard" not in maps and "reporting-service-alerts" not in rules
    assert "reporting-service-monitor" in monitors
    assert "audit-service-monitor" not in monitors and "audit-service-alerts" in rules
    deployments = by_name(result, "Deployment")
    user_env = {item["name"]: item.get("value") for item in deployments["user-service"]["spec"]["template"]["spec"]
                ["containers"][0]["env"]}
    assert user_env["OTEL_TRACES_SAMPLER_ARG"] == "1" and user_env["OTEL_SERVICE_NAME"] == "user-service"
    audit_env = deployments["audit-service"]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert not any(item["name"].startswith("OTEL_") for item in audit_env)


def test_platform_switches_turn_the_bundle_off():
    result = render_overridden(platform={"serviceMonitors": False, "alerts": False, "dashboards": False})
    kinds = {item["kind"] for item in result.manifests}
    assert not kinds & {"ServiceMonitor", "PrometheusRule"}
    assert not [name for name in by_name(result, "ConfigMap") if name.endswith("-dashboard")]


def test_each_track_reports_its_own_version():
    result = rendered("production")  # the api-gateway canary 1.1.0 runs beside stable 1.0.0
    deployments = by_name(result, "Deployment")
    for name, tag in (("api-gateway", "1.0.0"), ("api-gateway-canary", "1.1.0")):
        env = {item["name"]: item.get("value") for item in
               deployments[name]["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["OTEL_RESOURCE_ATTRIBUTES"] == f"service.version={tag},deployment.environment=production"
        assert env["OTEL_SERVICE_NAME"] == "api-gateway"
