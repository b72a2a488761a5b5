"""Prometheus' own tools over a stack's alerts and dashboards: promtool rule files and unit tests.

From the rendered PrometheusRules of a stack and the services' config (metric names, thresholds,
delivery tracks) this writes, per PrometheusRule, the rule file promtool reads and a
``promtool test rules`` file with, per alert:

* a firing scenario: series healthy until ``BAD_FROM`` minutes, then bad; ``ALERTS`` shows the alert
  pending from exactly ``BAD_FROM`` (not a minute earlier), and it fires at ``BAD_FROM + for``
  (not a minute earlier) with its labels (service, namespace, severity, track and the expression's
  own) and its annotations, ``$value`` rendered as Prometheus would;
* a healthy scenario: the same series without the bad phase, and no alert.

The series come from a small table of scenario kinds (``STANDARD_SCENARIOS``, one per standard
alert, ``track_error_scenarios`` for per-track alerts, ``EXTRA_SCENARIOS`` for extra alerts by
name). Each bad phase steps well past the threshold, so the expression turns true at the first bad
sample; ``$value`` is read when the expression's windows hold only bad samples (or, for the 15m
restart window, computed with Prometheus' extrapolation), so it is exact.

``python -m tools.alert_tests STACK [DIR]`` writes the files (default ``build/alert-tests/STACK``)
and runs promtool over them.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from platform_config.paths import PROJECT_ROOT as ROOT
from platform_config.models import ServiceSpec
from specs import observability as obs

SETUP_SCRIPT = ROOT / "scripts" / "setup_promtool.sh"

BAD_FROM = 10          # minute of the first bad sample
END = 40               # minutes of series
EVALUATION = "1m"      # evaluation and sample interval
WINDOW = 5             # minutes of the rate() windows of the alerts ([5m])
RESTART_WINDOW = 15    # the restart alert's window ([15m])
TEST_PROCESSES = 4     # promtool test processes at a time


# --- binaries ---------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def prometheus_bin() -> Path:
    """Where scripts/setup_promtool.sh keeps promtool and promql-selectors (built if missing)."""
    done = subprocess.run([str(SETUP_SCRIPT), "--print-bin"], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"scripts/setup_promtool.sh failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(prometheus_bin() / "promtool"), *args], capture_output=True, text=True, cwd=cwd)


def parse_expressions(expressions: list[str]) -> list[dict]:
    """Prometheus' PromQL parser over each expression: {"error": ...} or {"selectors": [...]}."""
    done = subprocess.run([str(prometheus_bin() / "promql-selectors")], input=json.dumps(expressions),
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"promql-selectors failed: {done.stderr}")
    return json.loads(done.stdout)


# --- series -----------------------------------------------------------------------------------

def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def series_name(metric: str, labels: dict[str, str]) -> str:
    return metric + "{" + ",".join(f"{key}={json.dumps(value)}" for key, value in labels.items()) + "}"


def counter(base: float, healthy: float, bad: float) -> str:
    """Per-minute increments ``healthy`` until BAD_FROM, ``bad`` from then on (promtool notation)."""
    at_bad = base + healthy * (BAD_FROM - 1) + bad
    return f"{_num(base)}+{_num(healthy)}x{BAD_FROM - 1} {_num(at_bad)}+{_num(bad)}x{END - BAD_FROM}"


def gauge(healthy: float, bad: float) -> str:
    return f"{_num(healthy)}x{BAD_FROM - 1} {_num(bad)}x{END - BAD_FROM}"


@dataclass(frozen=True)
class Series:
    metric: str
    labels: dict[str, str]
    healthy: float
    bad: float
    kind: str = "counter"      # or "gauge"
    base: float = 1000         # counters start high, so Prometheus never clamps the extrapolation at 0

    def values(self, broken: bool) -> str:
        bad = self.bad if broken else self.healthy
        return counter(self.base, self.healthy, bad) if self.kind == "counter" else gauge(self.healthy, bad)


@dataclass
class Scenario:
    series: list[Series]
    labels: dict[str, str] = field(default_factory=dict)   # labels of the expression's result
    value: float | None = None                             # $value when the alert fires


@dataclass(frozen=True)
class Context:
    service_name: str
    namespace: str
    spec: ServiceSpec
    track: str | None = None
    wait: int = 5              # minutes of the alert's for:

    @property
    def container(self) -> dict[str, str]:
        return {"namespace": self.namespace, "container": self.service_name, "pod": f"{self.service_name}-0"}

    def target(self, track: str | None = None) -> dict[str, str]:
        """Labels of a series scraped through the service's ServiceMonitor (of one track's pod)."""
        track = track or self.track
        labels = {"namespace": self.namespace, "service": self.service_name, "job": self.service_name,
                  "instance": "10.0.0.1:8080", "pod": f"{self.service_name}-{track or '0'}"}
        if track:
            labels.update({"app": self.service_name, "version": track})
        return labels

    def metric(self, configured: str, **extra: str) -> tuple[str, dict[str, str]]:
        """Name and labels of a series the configured metric selector matches."""
        name, matchers = obs.selector_parts(configured)
        fixed = {}
        for label, operator, value in matchers:
            if operator != "=":
                raise ValueError(f"{self.service_name}: metric selector {configured!r} has a {operator} matcher; "
                                 "the alert scenarios need equality matchers to make up series")
            fixed[label] = value
        return name, {**self.target(), **fixed, **extra}


# --- scenario kinds ---------------------------------------------------------------------------

def counter_rate_above(name: str, labels: dict[str, str], per_second: float, for_minutes: int,
                       window: int = WINDOW, scale: float = 1) -> Scenario:
    """``scale * sum(rate(counter[window])) > scale * per_second``, the counter flat until BAD_FROM.

    The step gives twice the threshold with one bad sample in the window; ``$value`` at firing is
    the extrapolated rate Prometheus computes over ``min(for + 1, window - 1)`` bad increments.
    """
    step = max(10.0, math.ceil(2 * per_second * 60 * (window - 1)))
    increments = min(for_minutes + 1, window - 1)
    value = increments * step * (window / (window - 1)) / (window * 60) * scale
    return Scenario([Series(name, labels, 0, step)], value=value)


def histogram_quantile_above(name: str, labels: dict[str, str], threshold: float) -> Scenario:
    """p95 of a histogram above ``threshold`` seconds: every request moves from the lowest bucket
    to (2, 4] x threshold. With only slow requests in the window, p95 is 2 + 0.95 x 2 = 3.9 x threshold."""
    bounds = [threshold / 4, threshold / 2, threshold, 2 * threshold, 4 * threshold]
    series = [Series(name, {**labels, "le": _num(bound)}, 60, 600 if bound >= 4 * threshold else 0)
              for bound in bounds]
    series.append(Series(name, {**labels, "le": "+Inf"}, 60, 600))
    return Scenario(series, value=2 * threshold + 2 * threshold * 0.95)


def _cpu(ctx: Context) -> Scenario:
    ratio = ctx.spec.observability.alerts.thresholds.cpu_ratio
    usage = Series(obs.CPU_USAGE, ctx.container, 60 * ratio / 2, 60 * ratio * 3)   # cores x 60 s a minute
    limit = Series(obs.RESOURCE_LIMITS, {**ctx.container, "resource": "cpu"}, 1, 1, kind="gauge")
    return Scenario([usage, limit], labels={"namespace": ctx.namespace, "pod": ctx.container["pod"]},
                    value=ratio * 3)


def _memory(ctx: Context) -> Scenario:
    ratio = ctx.spec.observability.alerts.thresholds.memory_ratio
    limit = 1_000_000_000
    bad = round(limit * (ratio + 1) / 2) if ratio < 1 else round(limit * 1.1)
    usage = Series(obs.MEMORY_WORKING_SET, ctx.container, round(limit * ratio / 2), bad, kind="gauge")
    limits = Series(obs.RESOURCE_LIMITS, {**ctx.container, "resource": "memory"}, limit, limit, kind="gauge")
    return Scenario([usage, limits], labels={"namespace": ctx.namespace, "pod": ctx.container["pod"]},
                    value=bad / limit)


def _restarts(ctx: Context) -> Scenario:
    per_minute = ctx.spec.observability.alerts.thresholds.restarts_per_minute
    scenario = counter_rate_above(obs.RESTARTS, ctx.container, per_minute / 60, ctx.wait, RESTART_WINDOW, scale=60)
    scenario.labels = {"namespace": ctx.namespace, "pod": ctx.container["pod"]}
    return scenario


def _down(ctx: Context) -> Scenario:
    return Scenario([Series("up", ctx.target(), 1, 0, kind="gauge")])


def _latency(ctx: Context) -> Scenario:
    name, labels = ctx.metric(ctx.spec.observability.metrics.request_duration_bucket)
    return histogram_quantile_above(name, labels, ctx.spec.observability.alerts.thresholds.p95_latency_seconds)


def error_ratio(ctx: Context, failing: str | None) -> Scenario:
    """600 requests a minute per track; the 5xx of the failing track (``None``: of every track) go
    from none to 6000 a minute. With only bad samples in the window its 5xx ratio is 6000 / 6600."""
    metrics = ctx.spec.observability.metrics
    series = []
    for track in obs.tracks(ctx.spec) or [None]:
        context = Context(ctx.service_name, ctx.namespace, ctx.spec, track)
        for status, bad in (("200", 600), ("500", 6000 if failing in (None, track) else 0)):
            name, labels = context.metric(metrics.requests_total, **{metrics.status_label: status})
            series.append(Series(name, labels, 600 if status == "200" else 0, bad))
    return Scenario(series, value=6000 / 6600)


def _errors(ctx: Context) -> Scenario:
    return error_ratio(ctx, ctx.track)


def _failures(metric: Callable[[ServiceSpec], str], scale: float = 1,
              threshold: Callable[[ServiceSpec], float] = lambda spec: 0.0) -> Callable[[Context], Scenario]:
    def build(ctx: Context) -> Scenario:
        name, labels = ctx.metric(metric(ctx.spec))
        return counter_rate_above(name, labels, threshold(ctx.spec) / scale, ctx.wait, scale=scale)
    return build


def _cache(ctx: Context) -> Scenario:
    """990 hits and 10 misses a minute, then no hit and enough misses to sink the ratio at once."""
    metrics = ctx.spec.observability.metrics
    ratio = ctx.spec.observability.alerts.thresholds.cache_hit_ratio
    hits, miss = ctx.metric(metrics.cache_hits), ctx.metric(metrics.cache_misses)
    return Scenario([Series(*hits, 990, 0), Series(*miss, 10, math.ceil(6000 / ratio))], value=0.0)


STANDARD_SCENARIOS: dict[str, Callable[[Context], Scenario]] = {
    "HighCPUUsage": _cpu,
    "HighMemoryUsage": _memory,
    "HighRestartRate": _restarts,
    "ServiceDown": _down,
    "HighResponseTime": _latency,
    "HighErrorRate": _errors,
    "DatabaseConnectionFailures": _failures(lambda spec: spec.observability.metrics.database_errors),
    "RedisConnectionFailures": _failures(lambda spec: spec.observability.metrics.redis_errors),
    "LowCacheHitRate": _cache,
    "BatchOperationFailures": _failures(
        lambda spec: spec.observability.metrics.batch_failures, scale=60,
        threshold=lambda spec: spec.observability.alerts.thresholds.batch_failures_per_minute),
}

# Extra alerts by name, with the conditions of the reference document they come from.
EXTRA_SCENARIOS: dict[str, Callable[[Context], Scenario]] = {
    # seed 000: more than 0.05 snapshot errors a second over 5 minutes
    "FinanceSnapshotCreationFailures": lambda ctx: with_series_labels(counter_rate_above(
        "eventstore_snapshot_errors_total", ctx.target(), 0.05, ctx.wait), ctx),
    # seed 000: p95 snapshot creation time above 2 s
    "FinanceSnapshotHighLatency": lambda ctx: histogram_quantile_above(
        "eventstore_snapshot_duration_seconds_bucket", ctx.target(), 2),
    # seed 000: more than 0.01 EventStore connection errors a second over 5 minutes
    "FinanceEventStoreConnectionErrors": lambda ctx: with_series_labels(counter_rate_above(
        "eventstore_connection_errors_total", ctx.target(), 0.01, ctx.wait), ctx),
}


def with_series_labels(scenario: Scenario, ctx: Context) -> Scenario:
    """An unaggregated expression keeps its series' labels (all but the metric name)."""
    scenario.labels = dict(ctx.target())
    return scenario


# --- annotations as Prometheus renders them ---------------------------------------------------

def humanize_percentage(value: float) -> str:
    return _go_g(value * 100) + "%"


def humanize_duration(value: float) -> str:
    if value == 0:
        return "0s"
    if value >= 60 or value < 0:
        raise ValueError(f"humanize_duration: {value} is outside what the scenarios produce (0-60 s)")
    if value >= 1:
        return _go_g(value) + "s"
    prefix = ""
    for unit in ("m", "u", "n", "p"):
        if value >= 1:
            break
        prefix, value = unit, value * 1000
    return _go_g(value) + prefix + "s"


def _go_g(value: float) -> str:
    """Go's %.4g (the same as C's for these magnitudes)."""
    return "%.4g" % value


_TEMPLATE = re.compile(r"\{\{\s*(.*?)\s*\}\}")


def render(template: str, labels: dict[str, str], value: float | None) -> str:
    def one(found: re.Match) -> str:
        action = found.group(1)
        if action.startswith("$labels."):
            return labels[action.removeprefix("$labels.")]
        pipes = [part.strip() for part in action.split("|")]
        if pipes[0] != "$value" or value is None:
            raise ValueError(f"annotation template {found.group(0)!r}: only $labels.X and $value pipes are known")
        if pipes[1:] == ["humanizePercentage"]:
            return humanize_percentage(value)
        if pipes[1:] == ["humanizeDuration"]:
            return humanize_duration(value)
        if len(pipes) == 2 and (printf := re.fullmatch(r'printf "(%\.\d+f)"', pipes[1])):
            return printf.group(1) % value
        raise ValueError(f"annotation template {found.group(0)!r} is not one the alert tests can render")
    return _TEMPLATE.sub(one, template)


# --- unit tests -------------------------------------------------------------------------------

def minutes(duration: str) -> int:
    found = re.fullmatch(r"(\d+)([smh])", duration)
    if not found:
        raise ValueError(f"for: {duration!r} is not a duration the alert tests read (e.g. 5m)")
    amount, unit = int(found.group(1)), found.group(2)
    seconds = amount * {"s": 1, "m": 60, "h": 3600}[unit]
    if seconds % 60:
        raise ValueError(f"for: {duration!r} is not a whole number of minutes (the evaluation interval)")
    return seconds // 60


@dataclass
class Suite:
    """The promtool rule files and test files of one stack, and what they cover."""

    rule_files: dict[str, dict] = field(default_factory=dict)
    test_files: dict[str, dict] = field(default_factory=dict)
    alerts: list[str] = field(default_factory=list)
    scenarios: int = 0

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for name, body in {**self.rule_files, **self.test_files}.items():
            (directory / name).write_text(yaml.safe_dump(body, sort_keys=False, width=1000))


def _alert_test(rule: dict, scenario: Scenario, at: int, fires: bool) -> dict:
    labels = {**scenario.labels, **rule["labels"]}
    expected = [{"exp_labels": labels,
                 "exp_annotations": {key: render(text, scenario.labels, scenario.value)
                                     for key, text in rule["annotations"].items()}}] if fires else []
    return {"eval_time": f"{at}m", "alertname": rule["alert"], "exp_alerts": expected}


def _pending_test(rule: dict, scenario: Scenario, at: int, pending: bool) -> dict:
    labels = {"alertname": rule["alert"], "alertstate": "pending", **scenario.labels, **rule["labels"]}
    samples = [{"labels": series_name("ALERTS", dict(sorted(labels.items()))), "value": 1}] if pending else []
    return {"expr": f'ALERTS{{alertname="{rule["alert"]}"}}', "eval_time": f"{at}m", "exp_samples": samples}


def _input(scenario: Scenario, broken: bool) -> list[dict]:
    return [{"series": series_name(item.metric, item.labels), "values": item.values(broken)}
            for item in scenario.series]


def rule_tests(rule: dict, scenario: Scenario) -> list[dict]:
    """The firing and the healthy test of one alert."""
    wait = minutes(rule["for"])
    fire_at = BAD_FROM + wait
    firing = {
        "name": f"{rule['alert']} fires {rule['for']} after the condition turns true",
        "interval": EVALUATION,
        "input_series": _input(scenario, broken=True),
        "promql_expr_test": [_pending_test(rule, scenario, BAD_FROM - 1, False),
                             _pending_test(rule, scenario, BAD_FROM, True)],
        "alert_rule_test": [_alert_test(rule, scenario, fire_at - 1, False),
                            _alert_test(rule, scenario, fire_at, True)],
    }
    healthy = {
        "name": f"{rule['alert']} stays silent on a healthy service",
        "interval": EVALUATION,
        "input_series": _input(scenario, broken=False),
        "alert_rule_test": [_alert_test(rule, scenario, at, False) for at in (fire_at, END)],
    }
    return [firing, healthy]


def track_tests(rules: dict[str, dict], ctx: Context) -> list[dict]:
    """Per failing track: its track alert fires, every other track's stays silent."""
    names = {track: obs.track_alert_name(ctx.service_name, track) for track in obs.tracks(ctx.spec)}
    tests = []
    for failing, name in names.items():
        rule, scenario = rules[name], error_ratio(ctx, failing)
        firing, healthy = rule_tests(rule, scenario)
        fire_at = BAD_FROM + minutes(rule["for"])
        firing["name"] = f"errors of the {failing} track fire {name} only"
        firing["alert_rule_test"] += [_alert_test(rules[other], scenario, fire_at, False)
                                      for track, other in names.items() if track != failing]
        healthy["name"] = f"{name} stays silent while every track is healthy"
        tests += [firing, healthy]
    return tests


def scenario_for(rule: dict, ctx: Context) -> Scenario:
    ctx = Context(ctx.service_name, ctx.namespace, ctx.spec, ctx.track, minutes(rule["for"]))
    prefix = obs.camel_case(ctx.service_name)
    suffix = rule["alert"].removeprefix(prefix)
    if rule["alert"] in EXTRA_SCENARIOS:
        return EXTRA_SCENARIOS[rule["alert"]](ctx)
    if rule["alert"].startswith(prefix) and suffix in STANDARD_SCENARIOS:
        return STANDARD_SCENARIOS[suffix](ctx)
    raise ValueError(f"{ctx.service_name}: no alert test scenario for {rule['alert']}: add one to "
                     "EXTRA_SCENARIOS in tools/alert_tests.py (see docs/observability.md)")


def stack_suite(manifests: list[dict], services: dict[str, ServiceSpec]) -> Suite:
    """Rule and test files for every PrometheusRule among ``manifests``."""
    suite = Suite()
    for item in manifests:
        if item["kind"] != "PrometheusRule":
            continue
        metadata = item["metadata"]
        service_name = metadata["labels"]["app"]
        ctx = Context(service_name, metadata["namespace"], services[service_name])
        base = f"{metadata['namespace']}_{metadata['name']}"
        suite.rule_files[f"{base}.rules.yaml"] = {"groups": item["spec"]["groups"]}
        tests = []
        for group in item["spec"]["groups"]:
            rules = {rule["alert"]: rule for rule in group["rules"] if "alert" in rule}
            track_names = {obs.track_alert_name(service_name, track) for track in obs.tracks(ctx.spec)}
            for name, rule in rules.items():
                suite.alerts.append(name)
                if name not in track_names:
                    tests += rule_tests(rule, scenario_for(rule, ctx))
            if track_names:
                tests += track_tests(rules, ctx)
        suite.scenarios += len(tests)
        suite.test_files[f"{base}.test.yaml"] = {
            "rule_files": [f"{base}.rules.yaml"], "evaluation_interval": EVALUATION, "tests": tests}
    return suite


def stack_services(stack: str) -> dict[str, ServiceSpec]:
    from platform_config.loader import load_platform_config
    from platform_config.stack import stack_file_config

    settings, _, _ = stack_file_config(stack)
    return dict(load_platform_config(stack, settings, ROOT).services)


def run_suite(suite: Suite, directory: Path) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
    """``promtool check rules`` (lint fatal) and ``promtool test rules`` over a written suite."""
    suite.write(directory)
    check = promtool("check", "rules", "--lint=all", "--lint-fatal", *sorted(suite.rule_files), cwd=directory)
    # One promtool per test file, a few at a time: a unit test group spends most of its wall time
    # waiting rather than computing, so this cuts a 12-service stack from ~2 min to under 1.
    with ThreadPoolExecutor(max_workers=TEST_PROCESSES) as pool:
        runs = list(pool.map(lambda name: promtool("test", "rules", name, cwd=directory), sorted(suite.test_files)))
    test = subprocess.CompletedProcess(
        ["promtool", "test", "rules", *sorted(suite.test_files)], max((run.returncode for run in runs), default=0),
        "".join(run.stdout for run in runs), "".join(run.stderr for run in runs))
    return check, test


def main(argv: list[str] | None = None) -> int:
    from tools.render import render_stack

    args = sys.argv[1:] if argv is None else argv
    if not args or len(args) > 2:
        print("usage: python -m tools.alert_tests STACK [DIR]", file=sys.stderr)
        return 2
    stack = args[0]
    directory = Path(args[1]) if len(args) > 1 else ROOT / "build" / "alert-tests" / stack
    suite = stack_suite(render_stack(stack).manifests, stack_services(stack))
    check, test = run_suite(suite, directory)
    sys.stdout.write(check.stdout + check.stderr + test.stdout + test.stderr)
    print(f"{stack}: {len(suite.rule_files)} rule files, {len(suite.alerts)} alerts, {suite.scenarios} scenarios "
          f"-> {directory}")
    return check.returncode or test.returncode


if __name__ == "__main__":
    raise SystemExit(main())
