"""Capacity before apply: each namespace's peak against its ResourceQuota and LimitRange."""

from __future__ import annotations

import copy
from fractions import Fraction

import pytest

from conftest import STACKS, injected_namespaces, injected_proxy, objects
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
    injected = injected_namespaces(objects(stack))
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
            # Istio's proxy is a native sidecar: it runs beside the init containers as well as the app's.
            proxy = injected_proxy(spec["template"]) if namespace in injected else None
            for key in expected:
                section, resource = key.split(".")
                app = sum(quantity_value(c["resources"][section][resource]) for c in pod["containers"])
                init = max((quantity_value(c["resources"][section][resource]) for c in pod.get("initContainers", [])),
                           default=Fraction(0))
                beside = quantity_value(proxy["resources"][section][resource]) if proxy else Fraction(0)
                expected[key] += count * (max(app, init) + beside)
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
    # counts until it is gone (the local cluster refused the 12th pod at a quota of 11 pods' worth);
    # each pod 1/2Gi requests and 4/8Gi limits, plus its istio-proxy's 100m/128Mi and 2/1Gi.
    demand = namespace_demands(config_of("production"))["micropay-payment"]
    assert [(track.deployment, track.now, track.peak) for track in demand.tracks] == [
        ("payment-service-blue", 12, 12), ("payment-service-green", 12, 12)]
    assert {key: show(key, demand.total(key)) for key in ("requests.cpu", "requests.memory", "limits.cpu",
                                                          "limits.memory", "pods")} == {
        "requests.cpu": "26400m", "requests.memory": "51Gi", "limits.cpu": "144", "limits.memory": "216Gi",
        "pods": "24"}


# --- one test per kind of shortfall ---------------------------------------------------------
# Development: fraud-detection-service alone in micropay-fraud, HPA 1-2, maxSurge 1, maxUnavailable 0,
# 100m/256Mi requests and 500m/1Gi limits per pod, plus its istio-proxy (the mesh is Istio: the default
# platform.mesh.proxyResources, 100m/128Mi requests and 2/1Gi limits), so 200m/384Mi and 2500m/2Gi per
# pod; its peak is 4 pods: 2, a surge pod and the pod the rollout has just stopped.

def test_requests_shortfall():
    (problem,) = refused("development", namespaces={"micropay-fraud": {"quota": {"requestsCpu": "350m"}}})
    path, message = problem
    assert path == "namespaces.micropay-fraud.quota.requestsCpu"
    assert "namespace micropay-fraud: requests.cpu needs 800m at peak but the ResourceQuota allows 350m" in message
    assert "fraud-detection-service 4 pods × 200m with istio-proxy (autoscaler maximum 2 + 1 surge + 1 terminating)" \
        in message
    assert "raise namespaces.micropay-fraud.quota.requestsCpu to at least 800m" in message
    assert "or lower services.fraud-detection-service.autoscaling.maxReplicas, " \
           "services.fraud-detection-service.resources.requests.cpu, platform.mesh.proxyResources.requests.cpu" in message


def test_limits_shortfall():
    (problem,) = refused("development", namespaces={"micropay-fraud": {"quota": {"limitsMemory": "3Gi"}}})
    assert problem[0] == "namespaces.micropay-fraud.quota.limitsMemory"
    assert "limits.memory needs 8Gi at peak but the ResourceQuota allows 3Gi" in problem[1]
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
    problems = dict(refused("development", namespaces={"micropay-fraud": {"limits": {
        "max": {"cpu": "400m"}, "default": {"cpu": "400m", "memory": "4Gi"},
        "defaultRequest": {"cpu": "100m", "memory": "1Gi"}}}}))
    assert problems.keys() == {"services.fraud-detection-service.resources.limits.cpu",
                               "platform.mesh.proxyResources.limits.cpu"}
    assert "container fraud-detection-service of fraud-detection-service limits cpu to 500m, above the LimitRange " \
           "max 400m, so its pods are refused: lower the limit to at most 400m or raise " \
           "namespaces.micropay-fraud.limits.max.cpu" in problems["services.fraud-detection-service.resources.limits.cpu"]


def test_limit_range_min():
    problems = dict(refused("development", namespaces={"micropay-fraud": {"limits": {
        "min": {"memory": "512Mi"}, "defaultRequest": {"cpu": "100m", "memory": "512Mi"}}}}))
    assert problems.keys() == {"services.fraud-detection-service.resources.requests.memory",
                               "platform.mesh.proxyResources.requests.memory"}
    message = problems["services.fraud-detection-service.resources.requests.memory"]
    assert "requests memory 256Mi, below the LimitRange min 512Mi" in message
    assert "raise the request to at least 512Mi or lower namespaces.micropay-fraud.limits.min.memory" in message


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


# --- the mesh's proxy -----------------------------------------------------------------------
# Istio's injector adds istio-proxy to every pod of a namespace labelled istio-injection=enabled and
# sizes it from the pod's sidecar.istio.io annotations; the program writes all four on every injected
# pod template, so the amounts the check adds are the ones the quota and the LimitRange will see.

PROXY = {"sidecar.istio.io/proxyCPU": "100m", "sidecar.istio.io/proxyCPULimit": "2",
         "sidecar.istio.io/proxyMemory": "128Mi", "sidecar.istio.io/proxyMemoryLimit": "1Gi"}


def template_annotations(manifests: list[dict], name: str) -> dict[str, str]:
    (deployment,) = [item for item in manifests if item["kind"] == "Deployment" and item["metadata"]["name"] == name]
    return deployment["spec"]["template"]["metadata"]["annotations"]


def proxy_annotations(annotations: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in annotations.items() if key.startswith("sidecar.istio.io/proxy")}


def test_every_injected_pod_template_states_its_proxy_resources():
    for stack in ("production", "staging", "planning-production"):
        for deployment in objects(stack, "Deployment"):
            assert proxy_annotations(deployment["spec"]["template"]["metadata"]["annotations"]) == PROXY, \
                (stack, deployment["metadata"]["name"])
    # Linkerd's proxy is not Istio's: no Istio annotations.
    assert all(proxy_annotations(item["spec"]["template"]["metadata"]["annotations"]) == {}
               for item in objects("user-service", "Deployment"))


def test_a_service_and_its_canary_may_size_their_own_proxy():
    gateway = {"requests": {"cpu": "500m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}
    canary = {"requests": {"cpu": "200m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}
    settings, secrets = settings_with("production", services={"api-gateway": {
        "proxyResources": gateway, "canary": {"overrides": {"proxyResources": canary}}}})
    manifests = render_config("production", settings, secrets).manifests
    assert proxy_annotations(template_annotations(manifests, "api-gateway")) == {
        "sidecar.istio.io/proxyCPU": "500m", "sidecar.istio.io/proxyCPULimit": "1",
        "sidecar.istio.io/proxyMemory": "256Mi", "sidecar.istio.io/proxyMemoryLimit": "512Mi"}
    assert proxy_annotations(template_annotations(manifests, "api-gateway-canary"))["sidecar.istio.io/proxyCPU"] == \
        "200m"
    assert proxy_annotations(template_annotations(manifests, "config-server")) == PROXY
    config = config_of("production", services={"api-gateway": {
        "proxyResources": gateway, "canary": {"overrides": {"proxyResources": canary}}}})
    tracks = {track.deployment: track for track in namespace_demands(config)["micropay-core"].tracks}
    # api-gateway's own container requests 500m.
    assert show("requests.cpu", tracks["api-gateway"].footprint["requests.cpu"]) == "1"
    assert show("requests.cpu", tracks["api-gateway-canary"].footprint["requests.cpu"]) == "700m"
    assert tracks["api-gateway"].proxy_key == "services.api-gateway.proxyResources"
    assert tracks["api-gateway-canary"].proxy_key == "services.api-gateway.canary.overrides.proxyResources"


def test_a_shortfall_caused_only_by_the_proxy_names_the_proxy_key():
    # 400m is fraud-detection-service's peak without its proxy (4 pods × 100m): enough before the mesh
    # was counted, 400m short with it.
    (problem,) = refused("development", namespaces={"micropay-fraud": {"quota": {"requestsCpu": "400m"}}})
    assert problem[0] == "namespaces.micropay-fraud.quota.requestsCpu"
    assert problem[1] == (
        "stack 'development', namespace micropay-fraud: requests.cpu needs 800m at peak but the ResourceQuota allows "
        "400m (fraud-detection-service 4 pods × 200m with istio-proxy (autoscaler maximum 2 + 1 surge + 1 terminating)): "
        "raise namespaces.micropay-fraud.quota.requestsCpu to at least 800m, or lower "
        "services.fraud-detection-service.autoscaling.maxReplicas, services.fraud-detection-service.resources.requests.cpu, "
        "platform.mesh.proxyResources.requests.cpu")
    # A smaller proxy for that service is one of the fixes, and the message then names its own key.
    small = {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}
    (problem,) = refused("development", namespaces={"micropay-fraud": {"quota": {"requestsCpu": "400m"}}},
                         services={"fraud-detection-service": {"proxyResources": small}})
    assert "requests.cpu needs 440m at peak" in problem[1]
    assert problem[1].endswith("services.fraud-detection-service.proxyResources.requests.cpu")
    settings, secrets = settings_with("development", namespaces={"micropay-fraud": {"quota": {"requestsCpu": "440m"}}},
                                      services={"fraud-detection-service": {"proxyResources": small}})
    load("development", settings, secrets)


def test_a_limit_range_max_the_proxy_breaks():
    # fraud-detection-service's own container limits 500m of cpu, within 1; Istio's default proxy limits 2.
    (problem,) = refused("development", namespaces={"micropay-fraud": {"limits": {
        "max": {"cpu": "1"}, "default": {"cpu": "1", "memory": "4Gi"}}}})
    assert problem == ("platform.mesh.proxyResources.limits.cpu",
                       "stack 'development', namespace micropay-fraud: container istio-proxy of fraud-detection-service "
                       "limits cpu to 2, above the LimitRange max 1, so its pods are refused: lower the limit to at most "
                       "1 or raise namespaces.micropay-fraud.limits.max.cpu")


def test_a_pod_that_opts_out_of_injection_is_not_charged():
    for opt_out in ({"podAnnotations": {"sidecar.istio.io/inject": "false"}},
                    {"labels": {"sidecar.istio.io/inject": "false"}}):
        sections = {"namespaces": {"micropay-fraud": {"quota": {"requestsCpu": "400m"}, "limits": {
                        "max": {"cpu": "1"}, "default": {"cpu": "1", "memory": "4Gi"}}}},
                    "services": {"fraud-detection-service": opt_out}}
        settings, secrets = settings_with("development", **sections)
        manifests = render_config("development", settings, secrets).manifests
        assert proxy_annotations(template_annotations(manifests, "fraud-detection-service")) == {}
        assert proxy_annotations(template_annotations(manifests, "user-service")) == PROXY
        (track,) = namespace_demands(config_of("development", **sections))["micropay-fraud"].tracks
        assert track.proxy_key is None and show("requests.cpu", track.footprint["requests.cpu"]) == "100m"


def test_the_proxy_runs_beside_the_init_containers():
    """Istio's native sidecar (its default since 1.27) starts before the pod's own init containers."""
    spec = config_of("planning-production").services["financial-planning-api"]
    proxy = config_of("planning-production").platform.mesh.proxy_resources
    assert {key: show(key, value) for key, value in pod_footprint(spec, proxy).items()} == {
        "requests.cpu": "650m", "requests.memory": "1216Mi", "limits.cpu": "4100m", "limits.memory": "5248Mi"}
    bigger_init = config_of("planning-production", services={"financial-planning-api": {"initContainers": [
        {**spec.init_containers[0].model_dump(by_alias=True),
         "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "3", "memory": "6Gi"}}}]}})
    assert {key: show(key, value) for key, value in pod_footprint(
        bigger_init.services["financial-planning-api"], proxy).items()} == {
        "requests.cpu": "1100m", "requests.memory": "2176Mi", "limits.cpu": "5", "limits.memory": "7Gi"}


def test_proxy_resources_carry_cpu_and_memory_only():
    # Istio's annotations size the proxy's cpu and memory, nothing else; all four are always written.
    for amounts, expected in (({"cpu": "100m", "memory": "128Mi", "ephemeral-storage": "1Gi"},
                               ("platform.mesh.proxyResources.requests.ephemeral-storage", "unknown key")),
                              ({"cpu": "100m"}, ("platform.mesh.proxyResources.requests.memory", "required key"))):
        settings, secrets = settings_with("development", platform={"mesh": {"proxyResources": {
            "requests": amounts, "limits": {"cpu": "1", "memory": "1Gi"}}}})
        with pytest.raises(ConfigError) as caught:
            load("development", settings, secrets)
        (problem,) = caught.value.problems
        assert problem[0] == expected[0] and problem[1].startswith(expected[1])


def test_a_hand_written_proxy_annotation_is_refused():
    (problem,) = refused("development", services={"fraud-detection-service": {
        "podAnnotations": {"sidecar.istio.io/proxyCPULimit": "500m"}}})
    assert problem[0] == "services.fraud-detection-service.podAnnotations.sidecar.istio.io/proxyCPULimit"
    assert "the program writes the proxy's resource annotations itself, from proxyResources" in problem[1]
    assert "remove the annotation and set services.fraud-detection-service.proxyResources" in problem[1]
