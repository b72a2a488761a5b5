"""Bad stack configs stop the program before any resource exists, with one clear message."""

import copy

import pytest

from platform_config.loader import ConfigError
from platform_config.stack import stack_file_config
from platform_program import load

BASE_SETTINGS, BASE_SECRETS, _ = stack_file_config("development")


def with_service(service: str, **override):
    settings = copy.deepcopy(BASE_SETTINGS)
    settings.setdefault("services", {}).setdefault(service, {}).update(override)
    return settings


def with_key(key: str, value):
    settings = copy.deepcopy(BASE_SETTINGS)
    settings[key] = value
    return settings


CASES = [
    # (id, settings, secrets, expected key path, expected words in the message)
    ("replicas-zero", with_service("config-server", replicas=0), {}, "services.config-server.replicas",
     "greater than or equal to 1"),
    ("replicas-negative", with_service("config-server", replicas=-2), {}, "services.config-server.replicas",
     "greater than or equal to 1"),
    ("replicas-wrong-type", with_service("config-server", replicas="three"), {}, "services.config-server.replicas",
     "valid integer"),
    ("unknown-service-key", with_service("user-service", replcas=3), {}, "services.user-service.replcas",
     "did you mean 'replicas'"),
    ("unknown-nested-key", with_service("user-service", autoscaling={"minReplica": 2}), {},
     "services.user-service.autoscaling.minReplica", "did you mean 'minReplicas'"),
    ("unknown-top-level-key", with_key("platfrom", {}), {}, "micropay-platform:platfrom", "did you mean 'platform'"),
    ("unknown-secret-like-key", BASE_SETTINGS, {"catalgo": "x"}, "micropay-platform:catalgo",
     "did you mean 'catalog'"),
    ("hpa-min-above-max", with_service("user-service", autoscaling={"minReplicas": 5, "maxReplicas": 2}), {},
     "services.user-service.autoscaling.minReplicas", "5 is above maxReplicas (2)"),
    ("request-above-limit", with_service("user-service", resources={"requests": {"cpu": "3"}}), {},
     "services.user-service.resources.requests.cpu", "3 is above limits.cpu (500m)"),
    ("limit-missing", with_service("user-service", resources={"requests": {"memory": "256Mi"}, "limits": {
        "memory": None}}), {}, "services.user-service.resources.limits.memory", "needs a request and a limit"),
    ("canary-overrides-request-above-limit", with_service("api-gateway", canary={"overrides": {"resources": {
        "requests": {"cpu": "8"}}}}), {}, "services.api-gateway.canary.overrides.resources.requests.cpu",
     "8 is above limits.cpu"),
    ("liveness-success-threshold", with_service("user-service", probes={"liveness": {"successThreshold": 2}}), {},
     "services.user-service.probes.liveness.successThreshold", "accepts only 1 for a liveness probe"),
    ("sidecar-config-without-mount-path", with_service("user-service", sidecars=[{
        "name": "agent", "image": "registry.example/agent", "tag": "1.0.0", "configFiles": {"agent.yml": "a: 1"},
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "50m", "memory": "64Mi"}}}]),
     {}, "services.user-service.sidecars.0.configMountPath", "configFiles but nowhere to mount them"),
    ("static-secret-without-value", with_service("payment-service", secrets=[{"name": "s", "keys": {
        "db-user": {"source": "static"}}}]), {}, "services.payment-service.secrets.0.keys.db-user",
     "its source is static, which takes the value from `value`, and it has none"),
    ("malformed-quantity", with_service("user-service", resources={"limits": {"memory": "4 gigs"}}), {},
     "services.user-service.resources.limits.memory", "not a Kubernetes quantity"),
    ("unknown-dependency", with_service("user-service", dependencies=["postgres"]), {},
     "services.user-service.dependencies", "did you mean 'postgresql'"),
    ("unknown-caller", with_service("user-service", callers=["api-gatway"]), {}, "services.user-service.callers",
     "did you mean 'api-gateway'"),
    ("pdb-blocks-evictions", with_service("config-server", disruptionBudget={"minAvailable": 1}), {},
     "services.config-server.disruptionBudget.minAvailable", "admits no eviction"),
    ("pdb-both-bounds", with_service("user-service", disruptionBudget={"minAvailable": 0, "maxUnavailable": 1}),
     {}, "services.user-service.disruptionBudget.maxUnavailable", "either minAvailable or maxUnavailable"),
    ("latest-tag", with_service("user-service", tag="latest"), {}, "services.user-service.tag", "'latest'"),
    ("invalid-namespace-name", with_service("user-service", namespace="Micropay_User"), {},
     "services.user-service.namespace", "DNS-1123"),
    ("undeclared-namespace", with_service("user-service", namespace="micropay-users"), {},
     "services.user-service.namespace", "not declared under namespaces"),
    ("unknown-service-override", with_key("services", {"usr-service": {"replicas": 1}}), {},
     "services.usr-service", "did you mean 'user-service'"),
    ("bad-delivery", with_service("user-service", delivery="bluegreen"), {}, "services.user-service.delivery",
     "'rolling', 'blueGreen' or 'canary'"),
    ("grace-shorter-than-prestop", with_service("user-service", lifecycle={"preStopSleepSeconds": 30,
                                                                          "terminationGracePeriodSeconds": 20}),
     {}, "services.user-service.lifecycle.terminationGracePeriodSeconds", "20 must exceed preStopSleepSeconds (30)"),
    ("rollout-cannot-progress", with_service("user-service", strategy={"maxSurge": 0, "maxUnavailable": 0}), {},
     "services.user-service.strategy.maxSurge", "can never progress"),
    ("probe-path-relative", with_service("user-service", probes={"readiness": {"path": "health"}}), {},
     "services.user-service.probes.readiness.path", "start it with '/'"),
    ("tag-with-a-trailing-newline", with_service("user-service", tag="1.0.0\n"), {}, "services.user-service.tag",
     "is not a pinned image tag: use a release tag such as 1.0.0"),
    ("tag-with-a-non-ascii-letter", with_service("user-service", tag="1.0.0-bêta"), {}, "services.user-service.tag",
     "is not a pinned image tag: use a release tag"),
    ("namespace-with-a-trailing-newline", with_service("user-service", namespace="micropay-user\n"), {},
     "services.user-service.namespace", "is not a valid DNS-1123 label: use at most 63 lower-case letters"),
    ("probe-path-with-a-trailing-newline", with_service("user-service", probes={"readiness": {"path": "/ready\n"}}),
     {}, "services.user-service.probes.readiness.path", "start it with '/'"),
    ("platform-as-a-list", with_key("platform", ["development"]), {}, "platform",
     "Input should be a valid dictionary"),
    ("endpoints-as-text", with_key("endpoints", "kafka"), {}, "micropay-platform:endpoints",
     "expected a mapping, got str"),
    ("namespaces-as-a-list", with_key("namespaces", ["micropay-user"]), {}, "micropay-platform:namespaces",
     "expected a mapping, got list"),
    ("infinite-alert-threshold", with_service("user-service", observability={"alerts": {"thresholds": {
        "p95LatencySeconds": float("inf")}}}), {}, "services.user-service.observability.alerts.thresholds."
     "p95LatencySeconds", "Input should be a finite number"),
    ("nan-alert-ratio", with_service("user-service", observability={"alerts": {"thresholds": {
        "errorRatio": float("nan")}}}), {}, "services.user-service.observability.alerts.thresholds.errorRatio",
     "Input should be a finite number"),
    ("plain-secret-value", with_service("payment-service", secrets=[{"name": "s", "keys": {
        "db-password": {"value": "hunter2"}}}]), {}, "services.payment-service.secrets.0.keys.db-password.value",
     "must not be written in plain text"),
    ("missing-provided-secret", with_service("payment-service", secrets=[{"name": "s", "keys": {
        "db-password": {"source": "provided", "configKey": "payment-db-password"}}}]), {},
     "micropay-platform:payment-db-password", "pulumi config set --secret payment-db-password"),
    ("placeholder-secret", with_service("payment-service", secrets=[{"name": "s", "keys": {
        "db-password": {"source": "provided", "configKey": "payment-db-password"}}}]),
     {"payment-db-password": "CHANGE_ME"}, "micropay-platform:payment-db-password", "placeholder"),
    ("missing-catalog", {key: value for key, value in BASE_SETTINGS.items() if key != "catalog"}, {},
     "micropay-platform:catalog", "pulumi config set catalog"),
    ("catalog-file-missing", with_key("catalog", "catalogs/nope.yaml"), {}, "micropay-platform:catalog",
     "not found"),
    ("bad-environment", with_key("platform", {"environment": "prod"}), {}, "platform.environment",
     "'production', 'staging' or 'development'"),
    ("unknown-placeholder", with_service("user-service", env={"KAFKA": "${address:kafak}"}), {},
     "services.user-service.env.KAFKA", "did you mean 'kafka'"),
    ("env-not-a-mapping", with_service("user-service", env=["A=1"]), {}, "services.user-service.env",
     "valid dictionary"),
    ("rwo-claim-mounted-by-many", with_service("payment-service", claims={"payment-db-pvc": {
        "mountPath": "/data"}}), {}, "services.payment-service.claims.payment-db-pvc.accessMode", "mounted by up to"),
    ("config-env-without-data", with_service("user-service", configEnv={"LEVEL": "log-level"}), {},
     "services.user-service.configEnv.LEVEL", "configData does not define"),
    ("vpa-bounds-reversed", with_service("user-service", verticalAutoscaling={
        "enabled": True, "minAllowed": {"cpu": "2"}, "maxAllowed": {"cpu": "1"}}), {},
     "services.user-service.verticalAutoscaling.minAllowed.cpu", "2 is above maxAllowed.cpu (1)"),
    ("blue-green-block-on-rolling-service", with_service("user-service", blueGreen={"blue": {"tag": "1.0.0"}}), {},
     "services.user-service.blueGreen", "delivery is not blueGreen"),
    ("active-colour-without-tag", with_service("payment-service", blueGreen={"active": "green"}), {},
     "services.payment-service.blueGreen.active", "'green' has no image tag"),
    # Named where blueGreen.active is written (main's layered keys): the catalog, as the stack sets only the replicas.
    ("active-colour-scaled-to-zero", with_service("payment-service", blueGreen={"blue": {"replicas": 0}}), {},
     "catalogs/micropay.yaml: services.payment-service.blueGreen.active", "scaled to 0 replicas"),
    ("colour-floor-above-hpa-max", with_service("payment-service", blueGreen={"green": {
        "tag": "1.0.1", "replicas": 99}}), {}, "services.payment-service.blueGreen.green.replicas",
     "99 is the floor of that colour's autoscaler"),
    ("canary-tag-on-rolling-service", with_service("user-service", canary={"tag": "1.0.1"}), {},
     "services.user-service.canary.tag", "delivery is not canary"),
    ("canary-pdb-blocks-evictions", with_service("api-gateway", canary={
        "tag": "1.1.0", "weight": 10, "replicas": 1, "disruptionBudget": {"minAvailable": 1}}), {},
     "services.api-gateway.canary.disruptionBudget.minAvailable",
     "runs as few as 1 (services.api-gateway.canary.replicas)"),
    ("canary-overrides-whole-service-key", with_service("api-gateway", canary={"overrides": {"port": 9090}}), {},
     "services.api-gateway.canary.overrides.port", "belongs to the whole service"),
    ("canary-overrides-bad-quantity", with_service("api-gateway", canary={"overrides": {
        "resources": {"limits": {"memory": "lots"}}}}), {},
     "services.api-gateway.canary.overrides.resources.limits.memory", "'lots' is not a Kubernetes quantity: write a "
     "number with an optional suffix"),
    ("canary-overrides-config-env-without-data", with_service("api-gateway", canary={"overrides": {
        "configEnv": {"LEVEL": "log-level"}}}), {}, "services.api-gateway.canary.overrides.configEnv.LEVEL",
     "configData does not define"),
    ("autoscaling-without-metrics", with_service("user-service", autoscaling={
        "cpuUtilization": None, "memoryUtilization": None}), {}, "services.user-service.autoscaling.cpuUtilization",
     "at least one metric"),
    ("canary-weight-without-tag", with_service("api-gateway", canary={"weight": 10}), {},
     "services.api-gateway.canary.tag", "sends traffic to a canary without an image"),
    ("canary-hpa-min-above-max", with_service("api-gateway", canary={"tag": "1.1.0", "weight": 10, "autoscaling": {
        "minReplicas": 3, "maxReplicas": 2}}), {}, "services.api-gateway.canary.autoscaling.minReplicas",
     "3 is above maxReplicas (2)"),
    ("canary-pdb-both-bounds", with_service("api-gateway", canary={"tag": "1.1.0", "weight": 10, "disruptionBudget": {
        "minAvailable": 0, "maxUnavailable": 1}}), {}, "services.api-gateway.canary.disruptionBudget.maxUnavailable",
     "beside minAvailable"),
    ("canary-overrides-grace-shorter-than-prestop", with_service("api-gateway", canary={"overrides": {"lifecycle": {
        "preStopSleepSeconds": 30, "terminationGracePeriodSeconds": 20}}}), {},
     "services.api-gateway.canary.overrides.lifecycle.terminationGracePeriodSeconds", "must exceed"),
]


@pytest.mark.parametrize("settings,secrets,key,words", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_config_is_rejected_with_stack_key_and_fix(settings, secrets, key, words):
    with pytest.raises(ConfigError) as caught:
        load("development", settings, secrets)
    message = str(caught.value)
    assert message.startswith("stack 'development': invalid configuration")
    [(problem_key, text)] = caught.value.problems
    assert problem_key == key and words in text, message


def test_valid_stacks_load():
    for stack in ("production", "staging", "development"):
        settings, secrets, _ = stack_file_config(stack)
        config = load(stack, settings, secrets)
        assert len(config.services) == 12


def test_secret_values_are_never_echoed():
    settings = with_service("payment-service", secrets=[{"name": "s", "keys": {
        "db-password": {"source": "provided", "configKey": "payment-db-password"}}}])
    with pytest.raises(ConfigError) as caught:
        load("development", settings, {"payment-db-password": "Placeholder"})
    assert "Placeholder" not in str(caught.value)


def test_a_plain_secret_value_is_refused_without_echoing_it():
    settings = with_service("payment-service", secrets=[{"name": "s", "keys": {"db-password": {"value": "hunter2"}}}])
    with pytest.raises(ConfigError) as caught:
        load("development", settings, {})
    assert "hunter2" not in str(caught.value) and "hunter2" not in repr(caught.value.problems)
