"""Alerts and dashboards read by Prometheus' own tools (promtool and its PromQL parser), per stack.

promtool and promql-selectors are built by `make promtool` (scripts/setup_promtool.sh) from the
pinned github.com/prometheus/prometheus module; tools/alert_tests.py writes the rule and test files.
"""

import copy
import json
import re
import tempfile
from functools import lru_cache
from pathlib import Path

import pytest

from conftest import objects
from invariants import labels_match
from specs import observability as obs
from tools import alert_tests


@lru_cache(maxsize=None)
def services(stack: str):
    return alert_tests.stack_services(stack)


@lru_cache(maxsize=None)
def suite(stack: str) -> alert_tests.Suite:
    return alert_tests.stack_suite(objects(stack), services(stack))


def scratch(name: str) -> Path:
    """A fresh directory under build/alert-tests/ (ignored by git), kept for reading a failure."""
    parent = alert_tests.ROOT / "build" / "alert-tests"
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=parent))


@lru_cache(maxsize=None)
def run(stack: str):
    return alert_tests.run_suite(suite(stack), scratch(stack))


def output(done) -> str:
    return (done.stdout + done.stderr)[-6000:]


# --- rules ------------------------------------------------------------------------------------

def test_promtool_checks_every_rule_group_without_errors_or_warnings(stack):
    check, _ = run(stack)
    assert check.returncode == 0, output(check)
    text = output(check)
    assert "warn" not in text.lower() and "error" not in text.lower(), text
    groups = sum(len(body["groups"]) for body in suite(stack).rule_files.values())
    rules = sum(len(group["rules"]) for body in suite(stack).rule_files.values() for group in body["groups"])
    assert groups == len(objects(stack, "PrometheusRule")) and groups > 0
    assert text.count("SUCCESS") == len(suite(stack).rule_files)
    assert sum(int(count) for count in re.findall(r"SUCCESS: (\d+) rules found", text)) == rules


def test_every_alert_passes_its_promtool_unit_tests(stack):
    _, test = run(stack)
    assert test.returncode == 0, output(test)
    assert "SUCCESS" in test.stdout


def test_every_alert_has_a_firing_and_a_healthy_scenario(stack):
    rendered = {rule["alert"] for item in objects(stack, "PrometheusRule")
                for group in item["spec"]["groups"] for rule in group["rules"]}
    current = suite(stack)
    assert sorted(current.alerts) == sorted(rendered)
    firing, silent = set(), set()
    for body in current.test_files.values():
        for test in body["tests"]:
            for check in test["alert_rule_test"]:
                (firing if check["exp_alerts"] else silent).add(check["alertname"])
    assert firing == rendered and silent == rendered


@lru_cache(maxsize=None)
def blue_green_production():
    """production with payment-service's green colour deployed beside blue (step 1 of the runbook)."""
    from platform_config.loader import deep_merge, load_platform_config
    from platform_config.stack import stack_file_config
    from tools.render import render_config

    settings, secrets, _ = stack_file_config("production")
    settings = deep_merge(settings, {"services": {"payment-service": {"blueGreen": {"green": {
        "tag": "1.1.0", "replicas": 5}}}}})
    manifests = render_config("production", settings, secrets).manifests
    services = dict(load_platform_config("production", settings, alert_tests.ROOT).services)
    return manifests, services


@pytest.mark.parametrize("stack,service,tracks", [
    ("finance-week3", "finance-service", ["stable", "canary"]),
    ("planning-production", "financial-planning-api", ["stable", "canary"]),
    ("production+green", "payment-service", ["blue", "green"]),
])
def test_a_track_alert_fires_on_its_own_track_only(stack, service, tracks):
    if stack == "production+green":
        manifests, specs = blue_green_production()
        current = alert_tests.stack_suite(manifests, specs)
        check, test = alert_tests.run_suite(current, scratch("production-green"))
        assert check.returncode == 0, output(check)
    else:
        specs, current, (_, test) = services(stack), suite(stack), run(stack)
    assert obs.tracks(specs[service]) == tracks
    body = current.test_files[f"{specs[service].namespace}_{service}-alerts.test.yaml"]
    for failing in tracks:
        name = obs.track_alert_name(service, failing)
        case = next(case for case in body["tests"] if case["name"] == f"errors of the {failing} track fire {name} only")
        outcome = {(check["alertname"], check["eval_time"]): bool(check["exp_alerts"])
                   for check in case["alert_rule_test"]}
        assert outcome == {(name, "14m"): False, (name, "15m"): True,
                           **{(obs.track_alert_name(service, other), "15m"): False
                              for other in tracks if other != failing}}
        fired = next(check for check in case["alert_rule_test"] if check["exp_alerts"])["exp_alerts"][0]
        assert fired["exp_labels"]["track"] == failing
        assert fired["exp_annotations"]["runbook_url"].endswith("/" + name.lower())
    assert test.returncode == 0, output(test)


def test_finance_snapshot_alerts_fire_on_the_seed_conditions():
    body = suite("finance-week4").test_files["vextrus-production_finance-service-alerts.test.yaml"]
    series = {}
    for test in body["tests"]:
        for check in test["alert_rule_test"]:
            if check["exp_alerts"]:
                series[check["alertname"]] = {item["series"].split("{")[0] for item in test["input_series"]}
    assert series["FinanceSnapshotCreationFailures"] == {"eventstore_snapshot_errors_total"}
    assert series["FinanceSnapshotHighLatency"] == {"eventstore_snapshot_duration_seconds_bucket"}
    assert series["FinanceEventStoreConnectionErrors"] == {"eventstore_connection_errors_total"}
    _, test = run("finance-week4")
    assert test.returncode == 0, output(test)


# --- negative controls: one broken expression, label or for: fails the suite ------------------

def broken(mutate) -> tuple:
    """The user-service stack's suite with one rule changed after its tests were generated."""
    original = suite("user-service")
    changed = alert_tests.Suite(copy.deepcopy(original.rule_files), original.test_files)
    (body,) = changed.rule_files.values()
    rules = {rule["alert"]: rule for rule in body["groups"][0]["rules"]}
    mutate(rules)
    return alert_tests.run_suite(changed, scratch("broken"))


def test_a_misspelt_function_fails_promtool_check_and_test():
    def misspell(rules):
        rules["UserServiceHighErrorRate"]["expr"] = rules["UserServiceHighErrorRate"]["expr"].replace("rate(", "rat(")
    check, test = broken(misspell)
    assert check.returncode != 0 and "rat" in output(check)
    assert test.returncode != 0


@pytest.mark.parametrize("mutate", [
    pytest.param(lambda rules: rules["UserServiceServiceDown"].update(
        expr=rules["UserServiceServiceDown"]["expr"].replace('service="user-service"', 'service="user-svc"')),
        id="expression-label-matcher"),
    pytest.param(lambda rules: rules["UserServiceHighCPUUsage"]["labels"].pop("track"), id="alert-label"),
    pytest.param(lambda rules: rules["UserServiceLowCacheHitRate"].update({"for": "11m"}), id="for"),
    pytest.param(lambda rules: rules["UserServiceDatabaseConnectionFailures"].update({"for": "1m"}), id="for-shorter"),
])
def test_a_broken_label_or_for_passes_the_parser_but_fails_the_unit_tests(mutate):
    check, test = broken(mutate)
    assert check.returncode == 0, output(check)
    assert test.returncode != 0 and "FAILED" in output(test)


def test_the_unchanged_control_suite_passes():
    check, test = broken(lambda rules: None)
    assert (check.returncode, test.returncode) == (0, 0), output(check) + output(test)


# --- dashboards -------------------------------------------------------------------------------

def scraped_metrics(stack: str) -> dict[tuple[str, str], set[str]]:
    """(namespace, service label) -> metric names the stack's ServiceMonitors scrape from it.

    A ServiceMonitor scrapes the Services it selects; their series carry ``service=<Service name>``.
    What a service exposes is what its config declares (``observability.metrics``, the names the
    alerts and panels use), plus ``up``, which Prometheus records for every target.
    """
    declared = {name: {"up"} | {obs.selector_parts(value)[0] for key, value in spec.observability.metrics
                                if key != "status_label"}
                for name, spec in services(stack).items()}
    scraped: dict[tuple[str, str], set[str]] = {}
    for monitor in objects(stack, "ServiceMonitor"):
        spec = monitor["spec"]
        for item in objects(stack, "Service"):
            metadata = item["metadata"]
            if metadata["namespace"] in spec["namespaceSelector"]["matchNames"] and \
                    labels_match(spec["selector"]["matchLabels"], metadata.get("labels", {})):
                scraped[(metadata["namespace"], metadata["name"])] = declared[metadata["labels"]["app"]]
    return scraped


def recorded_metrics(stack: str) -> set[str]:
    return {rule["record"] for item in objects(stack, "PrometheusRule") for group in item["spec"]["groups"]
            for rule in group["rules"] if "record" in rule}


def panel_queries(stack: str) -> list[tuple[str, str]]:
    return [(f"{item['metadata']['name']}/{panel['title']}/{target['refId']}", target["expr"])
            for item in objects(stack, "ConfigMap") if item["metadata"].get("labels", {}).get("grafana_dashboard")
            for text in item["data"].values() for panel in json.loads(text)["panels"]
            for target in panel["targets"]]


def dashboard_problems(stack: str, queries: list[tuple[str, str]]) -> list[str]:
    """Queries that do not parse, or read a metric no ServiceMonitor of the stack scrapes from the
    selected service, no kube-prometheus-stack exporter provides and no recording rule records."""
    scraped, recorded = scraped_metrics(stack), recorded_metrics(stack)
    kubernetes = {metric for metrics in obs.KUBERNETES_EXPORTER_METRICS.values() for metric in metrics}
    problems = []
    for (where, expr), parsed in zip(queries, alert_tests.parse_expressions([expr for _, expr in queries])):
        if "error" in parsed:
            problems.append(f"{where}: {parsed['error']}")
            continue
        if not parsed["selectors"]:
            problems.append(f"{where}: reads no series")
        for selector in parsed["selectors"]:
            metric = selector["metric"]
            equal = {name: value for name, operator, value in selector["matchers"] if operator == "="}
            target = (equal.get("namespace"), equal.get("service"))
            if metric not in kubernetes | recorded | scraped.get(target, set()):
                problems.append(f"{where}: {metric} of {target} is scraped by no ServiceMonitor of the stack "
                                "nor recorded by any rule")
    return problems


def test_every_dashboard_query_parses_and_reads_a_scraped_or_recorded_metric(stack):
    queries = panel_queries(stack)
    assert queries
    assert dashboard_problems(stack, queries) == []


def test_the_dashboard_check_catches_a_misspelt_function_a_wrong_label_and_an_unknown_metric():
    (where, good), *_ = panel_queries("user-service")
    metric = good.split("(rate(")[1].split("{")[0]
    queries = [("function", good.replace("rate(", "rat(")),
               ("label", good.replace('service="user-service"', 'service="user-svc"')),
               ("metric", good.replace(metric, metric + "_typo"))]
    problems = dashboard_problems("user-service", queries)
    assert [problem.split(":")[0] for problem in problems] == ["function", "label", "metric"], problems
    assert dashboard_problems("user-service", [(where, good)]) == []


# --- the parser instead of a hand-written grammar ---------------------------------------------

@pytest.mark.parametrize("selector,extra", [
    ("m", {"bad-label": "x"}), ("m", [("a", "==", "x")]), ("m", [("status", "=~", "5(")]),
])
def test_selectors_the_parser_rejects(selector, extra):
    (result,) = alert_tests.parse_expressions([obs.merge_matchers(selector, extra)])
    assert "error" in result


def test_every_rule_expression_parses_to_the_selectors_it_was_built_from():
    spec = blue_green_production()[1]["payment-service"]
    rules = {rule["alert"]: rule for rule in
             obs.alert_rules("payment-service", spec.namespace, spec, "https://r")["groups"][0]["rules"]}
    results = dict(zip(rules, alert_tests.parse_expressions([rule["expr"] for rule in rules.values()])))
    assert all("error" not in result for result in results.values()), results
    cache = {(item["metric"], tuple(map(tuple, item["matchers"])))
             for item in results["PaymentServiceLowCacheHitRate"]["selectors"]}
    scope = (("result", "=", "hit"), ("namespace", "=", spec.namespace), ("service", "=", "payment-service"))
    assert ("cache_gets_total", scope) in cache
    track = results[obs.track_alert_name("payment-service", "green")]["selectors"][0]
    assert ["version", "=", "green"] in track["matchers"] and ["app", "=", "payment-service"] in track["matchers"]

