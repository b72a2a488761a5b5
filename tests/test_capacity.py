"""Capacity before apply: each namespace's peak against its ResourceQuota and LimitRange."""

from __future__ import annotations

import copy
from fractions import Fraction

import pytest

from conftest import STACKS, objects
from platform_config.capacity import (check_capacity, namespace_demands, pod_footprint, rollout_pods, show, surge,
                                      unavailable)
from platform_config.loader import ConfigError, load_platform_config
from platform_config.merge import deep_merge
from platform_config.quantities import quantity_value
from platform_config.stack import stack_file_config
from platform_program import load
from tools.render import render_config


def settings_with(stack: str, **sections) -> tuple[dict, dict]:
    settings, secrets, _ = stack_file_config(stack)
    return deep_merge(copy.deepcopy(settings), sections), secrets


def refused(stack: str, **sections) -> list[tuple[str, str]]:
    settings, secrets = settings_with(stack, **sections)
    with pytest.raises(ConfigError) as caught:
        load(stack, settings, secrets)
    assert f"stack '{stack}'" in str(caught.value)
    return caught.value.problems


def config_of(stack: str, **sections):
    settings, _ = settings_with(stack, **sections)
    return load_platform_config(stack, settings)


# --- every committed stack fits -------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_every_committed_stack_fits(stack):
    report = check_capacity(config_of(stack))
    assert report.problems == [] and report.accepted == []


@pytest.mark.parametrize("stack", STACKS)
def test_figures_agree_with_the_rendered_objects(stack):
    """Recount what the quota admission charges from the rendered Deployments and HPAs alone.

    Only the release-step extras (an idle colour not yet deployed, a canary not at its largest
    step) are beyond the rendered objects, so the configured demand (``now``) must match exactly;
    each Deployment counts its rollout as ``simulated_rollout`` steps it with the rendered strategy.
    """
    demands = namespace_demands(config_of(stack))
    hpas = {(hpa["metadata"]["namespace"], hpa["spec"]["scaleTargetRef"]["name"]): hpa["spec"]["maxReplicas"]
            for hpa in objects(stack, "HorizontalPodAutoscaler")}
    for namespace, demand in demands.items():
        expected = {key: Fraction(0) for key in ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory")}
        pods = 0
        for deployment in objects(stack, "Deployment"):
            if deployment["metadata"]["namespace"] != namespace:
                continue
            spec = deployment["spec"]
            rolling = spec["strategy"]["rollingUpdate"]
            count = simulated_rollout(hpas.get((namespace, deployment["metadata"]["name"]), spec.get("replicas", 0)),
                                      rolling["maxSurge"], rolling["maxUnavailable"])
            pods += count
            pod = spec["template"]["spec"]
            for key in expected:
                section, resource = key.split(".")
                app = sum(quantity_value(c["resources"][section][resource]) for c in pod["containers"])
                init = max((quantity_value(c["resources"][section][resource]) for c in pod.get("initContainers", [])),
                           default=Fraction(0))
                expected[key] += count * max(app, init)
        assert demand.total("pods", release=False) == pods, namespace
        for key, value in expected.items():
            assert demand.total(key, release=False) == value, (namespace, key)
        quota = next(item for item in objects(stack, "ResourceQuota") if item["metadata"]["namespace"] == namespace)
        for key, hard in quota["spec"]["hard"].items():
            assert demand.total(key) <= quantity_value(hard), (namespace, key)


def simulated_rollout(replicas: int, max_surge: int, max_unavailable: int) -> int:
    """The most pods a rolling update charges to the quota, stepped as the Deployment controller steps it.

    Each step: the new ReplicaSet grows while old + new stays within replicas + maxSurge (never past
    replicas); its pods become available, and the pods stopped by the previous step are gone by then;
    the old ReplicaSet shrinks by all + new - (replicas - maxUnavailable), and those pods keep
    counting while the new ReplicaSet grows again. Stepping, not the closed form of ``rollout_pods``.
    """
    old, new, stopping, most = replicas, 0, 0, replicas
    while old:
        new = min(replicas, replicas + max_surge - old)
        most = max(most, old + new + stopping)
        stopping = min(old, old + new - (replicas - max_unavailable))
        old -= stopping
    return max(most, old + min(replicas, replicas + max_surge - old) + stopping)


@pytest.mark.parametrize("max_surge", [0, 1, 2, 3, 5])
@pytest.mark.parametrize("max_unavailable", [0, 1, 2])
@pytest.mark.parametrize("replicas", [0, 1, 2, 3, 4, 10, 25])
def test_a_rollout_holds_its_surge_and_the_pods_it_has_just_stopped(replicas, max_surge, max_unavailable):
    if max_surge == max_unavailable == 0:
        return   # refused by the config model (a rollout that can never progress)
    spec = config_of("development", services={"user-service": {"strategy": {
        "maxSurge": max_surge, "maxUnavailable": max_unavailable}}}).services["user-service"]
    assert rollout_pods(spec, replicas) == simulated_rollout(replicas, max_surge, max_unavailable)


def test_production_payment_peak_is_both_colours_rolling_at_the_autoscaler_maximum():
    # Per colour: 10 pods, 1 surge pod, and the pod the rollout has just stopped, which the quota
    # counts until it is gone (the local cluster refused the 12th pod at a quota of 11 pods' worth).
    demand = namespace_demands(config_of("production"))["micropay-payment"]
    assert [(track.deployment, track.now, track.peak) for track in demand.tracks] == [
        ("payment-service-blue", 12, 12), ("payment-service-green", 12, 12)]
    assert {key: show(key, demand.total(key)) for key in ("requests.cpu", "requests.memory", "limits.cpu",
                                                          "limits.memory", "pods")} == {
        "requests.cpu": "24", "requests.memory": "48Gi", "limits.cpu": "96", "limits.memory": "192Gi", "pods": "24"}


# --- one test per kind of shortfall ---------------------------------------------------------
# Development: fraud-detection-service alone in micropay-fraud, HPA 1-2, maxSurge 1, maxUnavailable 0,
# 100m/256Mi requests and 500m/1Gi limits per pod, so its peak is 4 pods: 2, a surge pod and the pod
# the rollout has just stopped.

def test_requests_shortfall():
    (problem,) = refused("development", namespaces={"micropay-fraud": {"quota": {"requestsCpu": "350m"}}})
    path, message = problem
    assert path == "namespaces.micropay-fraud.quota.requestsCpu"
    assert "namespace micropay-fraud: requests.cpu needs 400m at peak but the ResourceQuota allows 350m" in message
    assert "fraud-detection-service 4 pods × 100m (autoscaler maximum 2 + 1 surge + 1 terminating)" in message
    assert "raise namespaces.micropay-fraud.quota.requestsCpu to at least 400m" in message
    assert "or lower services.fraud-detection-service.autoscaling.maxReplicas, " \
           "services.fraud-detection-service.resources.requests.cpu" in message


def test_limits_shortfall():
    (problem,) = refused("development", namespaces={"micropay-fraud": {"quota": {"limitsMemory": "3Gi"}}})
    assert problem[0] == "namespaces.micropay-fraud.quota.limitsMemory"
    assert "limits.memory needs 4Gi at peak but the ResourceQuota allows 3Gi" in problem[1]
    assert "services.fraud-detection-service.resources.limits.memory" in problem[1]


def test_pods_shortfall():
    (problem,) = refused("development", namespaces={"micropay-fraud": {"quota": {"pods": 3}}})
    assert problem == ("namespaces.micropay-fraud.quota.pods",
                       "stack 'development', namespace micropay-fraud: pods needs 4 at peak but the ResourceQuota "
                       "allows 3 (fraud-detection-service 4 pods (autoscaler maximum 2 + 1 surge + 1 terminating)): "
                       "raise namespaces.micropay-fraud.quota.pods to at least 4, or lower "
                       "services.fraud-detection-service.autoscaling.maxReplicas")


def test_terminating_pods_shortfall():
    """A quota that holds the surge but not the pods a rollout has just stopped: refused, naming both.

    Planning's API rolls at its HPA maximum of 20 with maxSurge 2 and maxUnavailable 1: each step
    stops 3 old pods while 2 new ones surge, so 25 pods, beside a canary at 100 % (5 + 2 + 3)."""
    (problem,) = refused("planning-production", namespaces={"financial-planning-prod": {"quota": {"pods": 32}}})
    assert problem[0] == "namespaces.financial-planning-prod.quota.pods"
    assert "pods needs 35 at peak but the ResourceQuota allows 32" in problem[1]
    assert "financial-planning-api 25 pods (stable: autoscaler maximum 20 + 2 surge + 3 terminating)" in problem[1]
    assert "raise namespaces.financial-planning-prod.quota.pods to at least 35" in problem[1]


def test_claims_and_storage_shortfall():
    problems = refused("production", namespaces={"micropay-payment": {"quota": {
        "persistentVolumeClaims": 0, "requestsStorage": "50Gi"}}})
    assert dict(problems).keys() == {"namespaces.micropay-payment.quota.persistentVolumeClaims",
                                     "namespaces.micropay-payment.quota.requestsStorage"}
    messages = dict(problems)
    assert "persistentvolumeclaims needs 1 (claims) but the ResourceQuota allows 0" in \
        messages["namespaces.micropay-payment.quota.persistentVolumeClaims"]
    assert "requests.storage needs 100Gi (storage requested by claims) but the ResourceQuota allows 50Gi: " \
           "raise namespaces.micropay-payment.quota.requestsStorage to at least 100Gi" in \
        messages["namespaces.micropay-payment.quota.requestsStorage"]


def test_limit_range_max():
    (problem,) = refused("development", namespaces={"micropay-fraud": {"limits": {
        "max": {"cpu": "400m"}, "default": {"cpu": "400m", "memory": "4Gi"},
        "defaultRequest": {"cpu": "100m", "memory": "1Gi"}}}})
    assert problem[0] == "services.fraud-detection-service.resources.limits.cpu"
    assert "container fraud-detection-service of fraud-detection-service limits cpu to 500m, above the LimitRange " \
           "max 400m, so its pods are refused: lower the limit to at most 400m or raise " \
           "namespaces.micropay-fraud.limits.max.cpu" in problem[1]


def test_limit_range_min():
    (problem,) = refused("development", namespaces={"micropay-fraud": {"limits": {
        "min": {"memory": "512Mi"}, "defaultRequest": {"cpu": "100m", "memory": "512Mi"}}}})
    assert problem[0] == "services.fraud-detection-service.resources.requests.memory"
    assert "requests memory 256Mi, below the LimitRange min 512Mi" in problem[1]
    assert "raise the request to at least 512Mi or lower namespaces.micropay-fraud.limits.min.memory" in problem[1]


def test_limit_range_ratio_and_default():
    problems = dict(refused("development", namespaces={"micropay-fraud": {"limits": {
        "maxLimitRequestRatio": {"cpu": "4"}, "max": {"memory": "2Gi"}, "default": {"cpu": "500m", "memory": "4Gi"}}}}))
    assert "cpu limit/request ratio of 5 (500m/100m), above the LimitRange maxLimitRequestRatio 4: raise the " \
           "request to at least 125m" in problems["services.fraud-detection-service.resources.limits.cpu"]
    assert "the LimitRange default memory 4Gi is above its max 2Gi" in \
        problems["namespaces.micropay-fraud.limits.default.memory"]


def test_sidecars_and_init_containers_count_as_the_quota_counts_them():
    config = config_of("planning-production")
    spec = config.services["financial-planning-api"]
    # The app container and the log-shipper run together; the migration runs alone, before them.
    assert {key: show(key, value) for key, value in pod_footprint(spec).items()} == {
        "requests.cpu": "550m", "requests.memory": "1088Mi", "limits.cpu": "2100m", "limits.memory": "4224Mi"}
    bigger_init = config_of("planning-production", services={"financial-planning-api": {"initContainers": [
        {**spec.init_containers[0].model_dump(by_alias=True),
         "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "3", "memory": "6Gi"}}}]}})
    assert {key: show(key, value) for key, value in pod_footprint(
        bigger_init.services["financial-planning-api"]).items()} == {
        "requests.cpu": "1", "requests.memory": "2Gi", "limits.cpu": "3", "limits.memory": "6Gi"}


@pytest.mark.parametrize("max_surge,replicas,extra", [(1, 10, 1), ("25%", 10, 3), ("25%", 4, 1), (2, 0, 0)])
def test_surge_as_the_deployment_controller_rounds_it(max_surge, replicas, extra):
    spec = config_of("development", services={"user-service": {"strategy": {"maxSurge": max_surge}}})
    assert surge(spec.services["user-service"], replicas) == extra


@pytest.mark.parametrize("max_surge,max_unavailable,replicas,stopped", [
    (1, "25%", 10, 2), (1, "25%", 3, 0), (0, "25%", 3, 1), (0, 2, 10, 2), (1, 1, 0, 0)])
def test_unavailable_as_the_deployment_controller_rounds_it(max_surge, max_unavailable, replicas, stopped):
    # Rounded down; when both resolve to 0 the controller takes maxUnavailable 1 so the rollout can move.
    spec = config_of("development", services={"user-service": {"strategy": {
        "maxSurge": max_surge, "maxUnavailable": max_unavailable}}})
    assert unavailable(spec.services["user-service"], replicas) == stopped


# --- release steps --------------------------------------------------------------------------
# Staging: payment-service blue only (HPA 2-4), so blue peaks at 6 pods (4 + 1 surge + 1 terminating)
# and the switch at 12.

def test_blue_green_switch_needs_the_idle_colour_at_the_active_size():
    (problem,) = refused("staging", namespaces={"micropay-payment": {"quota": {"pods": 6}}})
    assert "pods needs 12 at peak but the ResourceQuota allows 6" in problem[1]
    assert "payment-service-blue 6 pods (active colour: autoscaler maximum 4 + 1 surge + 1 terminating)" in problem[1]
    assert "payment-service-green 6 pods (idle colour at the active colour's size during a switch)" in problem[1]


def test_a_namespace_may_accept_a_release_step_above_quota_knowingly():
    reason = "switches happen at night, when the autoscaler sits at its minimum"
    settings, secrets = settings_with("staging", namespaces={"micropay-payment": {
        "quota": {"pods": 6}, "acceptReleaseAboveQuota": reason}})
    config = load("staging", settings, secrets)
    (accepted,) = check_capacity(config).accepted
    assert accepted[0] == "namespaces.micropay-payment.quota.pods" and reason in accepted[1]
    assert any("pods needs 12 at peak" in warning for warning in render_config("staging", settings, secrets).warnings)
    # The serving colour rolling at its own maximum must still fit: 5 pods cannot hold blue's 6.
    (problem,) = refused("staging", namespaces={"micropay-payment": {"quota": {"pods": 5},
                                                                    "acceptReleaseAboveQuota": reason}})
    assert "pods needs 12 at peak but the ResourceQuota allows 5" in problem[1]


def test_canary_counts_its_largest_configured_step():
    # micropay-core in staging, each rolling with a surge pod and a terminating one: api-gateway 4 + 2,
    # config-server and eureka-server 2 + 2 each, and the canary at 100 % of the stable floor of 2 (2 + 2):
    # 18 pods. With steps up to 50 % the canary is 1 + 1 + 1 pods: 16.
    (problem,) = refused("staging", namespaces={"micropay-core": {"quota": {"pods": 17}}})
    assert "pods needs 18 at peak" in problem[1]
    assert "api-gateway-canary 4 pods (canary at its largest step, 100 %)" in problem[1]
    assert "services.api-gateway.canary.steps" in problem[1]
    settings, secrets = settings_with("staging", namespaces={"micropay-core": {"quota": {"pods": 16}}},
                                      services={"api-gateway": {"canary": {"steps": [10, 50]}}})
    load("staging", settings, secrets)


def test_production_canary_now_and_at_its_largest_step():
    demand = namespace_demands(config_of("production"))["micropay-balance"]
    assert [(track.deployment, track.now, track.peak) for track in demand.tracks] == [
        ("balance-service", 12, 12), ("balance-service-canary", 2, 5)]
