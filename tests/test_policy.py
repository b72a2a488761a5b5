"""Gate 2: the policy pack (policy/rules.py, policy/__main__.py), rule by rule and over every stack."""

import importlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
import yaml

from conftest import ROOT, STACKS, rendered
from policy import rules
from policy.rules import (ADVISORY, MANDATORY, POLICIES, POLICIES_BY_NAME, check_manifests, environment_from,
                          manifest_from_resource)
from tools.pins import pins

HOST = "app.example.com"


def app_container(name: str = "app") -> dict:
    return {
        "name": name,
        "image": "registry.example:5000/shop/app:1.2.3",
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
        "startupProbe": {"httpGet": {"path": "/health", "port": 8080}, "failureThreshold": 30},
        "livenessProbe": {"httpGet": {"path": "/live", "port": 8080}},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
    }


def init_container() -> dict:
    container = app_container("init")
    for probe in rules.PROBES:
        del container[probe]
    return container


def good_stack() -> dict[str, dict]:
    """A small stack every policy passes, in production."""
    labels = {"app": "app"}
    meta = {"namespace": "shop"}
    return {
        "namespace": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
        "deny": {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                 "metadata": {"name": "default-deny-all", **meta},
                 "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}},
        "netpol": {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "app", **meta},
                   "spec": {"podSelector": {"matchLabels": labels}, "policyTypes": ["Ingress", "Egress"],
                            "ingress": [{"ports": [{"port": 8080}]}], "egress": [{"ports": [{"port": 53}]}]}},
        "deployment": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app", **meta},
                       "spec": {"selector": {"matchLabels": labels}, "template": {
                           "metadata": {"labels": {**labels, "version": "1.2.3"}},
                           "spec": {"securityContext": {"runAsNonRoot": True,
                                                        "seccompProfile": {"type": "RuntimeDefault"}},
                                    "initContainers": [init_container()], "containers": [app_container()]}}}},
        "hpa": {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "app", **meta},
                "spec": {"minReplicas": 2, "maxReplicas": 5,
                         "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "app"},
                         "metrics": [{"type": "Resource", "resource": {
                             "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]}},
        "pdb": {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "app", **meta},
                "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels}}},
        "ingress": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "app", **meta},
                    "spec": {"tls": [{"hosts": [HOST], "secretName": "app-tls"}],
                             "rules": [{"host": HOST, "http": {"paths": [{"path": "/", "pathType": "Prefix",
                                                                          "backend": {"service": {
                                                                              "name": "app",
                                                                              "port": {"number": 8080}}}}]}}]}},
        "vpa": {"apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler",
                "metadata": {"name": "app", **meta},
                "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "app"},
                         "updatePolicy": {"updateMode": "Off"},
                         "resourcePolicy": {"containerPolicies": [{"containerName": "app",
                                                                   "controlledResources": ["cpu", "memory"]}]}}},
    }


def pod(stack):
    return stack["deployment"]["spec"]["template"]["spec"]


def main(stack):
    return pod(stack)["containers"][0]


def init(stack):
    return pod(stack)["initContainers"][0]


@dataclass
class Case:
    id: str
    policy: str
    mutate: Callable[[dict], object]
    expected: str
    environment: str = "production"


def assign(getter, key, value):
    return lambda stack: getter(stack).__setitem__(key, value)


def drop(getter, key):
    return lambda stack: getter(stack).pop(key)


CASES = [
    # pod-security-restricted
    Case("pod-runAsNonRoot-false", "pod-security-restricted",
         lambda s: pod(s)["securityContext"].update(runAsNonRoot=False), "app: runAsNonRoot is not true"),
    Case("container-overrides-runAsNonRoot", "pod-security-restricted",
         lambda s: main(s)["securityContext"].update(runAsNonRoot=False), "app: runAsNonRoot is not true"),
    Case("runs-as-root", "pod-security-restricted",
         lambda s: main(s)["securityContext"].update(runAsUser=0), "runs as user 0"),
    Case("init-privilege-escalation", "pod-security-restricted",
         lambda s: init(s)["securityContext"].pop("allowPrivilegeEscalation"),
         "init container init: allowPrivilegeEscalation is not false"),
    Case("privileged", "pod-security-restricted",
         lambda s: main(s)["securityContext"].update(privileged=True), "app: privileged"),
    Case("capabilities-not-dropped", "pod-security-restricted",
         lambda s: main(s)["securityContext"]["capabilities"].update(drop=["NET_RAW"]), "do not drop ALL"),
    Case("capability-added", "pod-security-restricted",
         lambda s: main(s)["securityContext"]["capabilities"].update(add=["SYS_ADMIN"]),
         "adds capabilities SYS_ADMIN"),
    Case("seccomp-unconfined", "pod-security-restricted",
         lambda s: main(s)["securityContext"].update(seccompProfile={"type": "Unconfined"}),
         "seccompProfile is Unconfined"),
    Case("seccomp-unset", "pod-security-restricted",
         lambda s: pod(s)["securityContext"].pop("seccompProfile"), "seccompProfile is unset"),
    Case("writable-root", "pod-security-restricted",
         lambda s: main(s)["securityContext"].update(readOnlyRootFilesystem=False), "root filesystem is not read-only"),
    Case("host-network", "pod-security-restricted", assign(pod, "hostNetwork", True), "pod sets hostNetwork"),
    # resource-requests-limits
    Case("no-memory-limit", "resource-requests-limits",
         lambda s: main(s)["resources"]["limits"].pop("memory"), "app: no limits.memory"),
    Case("init-without-requests", "resource-requests-limits",
         lambda s: init(s)["resources"].pop("requests"), "init container init: no requests.cpu"),
    Case("request-above-limit", "resource-requests-limits",
         lambda s: main(s)["resources"]["requests"].update(cpu="1500m"), "cpu request 1500m is above its limit 1"),
    # probes
    Case("no-startup-probe", "probes", drop(main, "startupProbe"), "app: no startupProbe"),
    Case("no-readiness-probe", "probes", drop(main, "readinessProbe"), "app: no readinessProbe"),
    Case("liveness-equals-readiness", "probes",
         lambda s: main(s).update(readinessProbe=dict(main(s)["livenessProbe"])), "are identical"),
    Case("native-sidecar-serving-without-probes", "probes",
         lambda s: init(s).update(restartPolicy="Always", ports=[{"containerPort": 9090}]),
         "init container init: no startupProbe"),
    Case("sidecar-serving-without-probes", "probes",
         lambda s: pod(s)["containers"].append({**init_container(), "name": "proxy",
                                                "ports": [{"containerPort": 15001}]}),
         "proxy: no livenessProbe"),
    # image-pinned
    Case("latest", "image-pinned", assign(main, "image", "registry.example/shop/app:latest"), "uses the latest tag"),
    Case("untagged-with-registry-port", "image-pinned", assign(main, "image", "registry.example:5000/shop/app"),
         "has no tag"),
    Case("init-latest", "image-pinned", assign(init, "image", "busybox:latest"), "init container init: image"),
    # pdb-allows-eviction
    Case("min-available-equals-hpa-floor", "pdb-allows-eviction",
         lambda s: s["pdb"]["spec"].update(minAvailable=2) or s["pdb"]["spec"].pop("maxUnavailable"),
         "minAvailable 2 allows no eviction at the minimum of 2 pod(s)"),
    Case("max-unavailable-zero", "pdb-allows-eviction",
         lambda s: s["pdb"]["spec"].update(maxUnavailable=0), "maxUnavailable 0 allows no eviction"),
    Case("min-available-100-percent", "pdb-allows-eviction",
         lambda s: s["pdb"]["spec"].update(minAvailable="100%") or s["pdb"]["spec"].pop("maxUnavailable"),
         "minAvailable 100% allows no eviction"),
    Case("static-replicas-floor", "pdb-allows-eviction",
         lambda s: s.pop("hpa") and s["deployment"]["spec"].update(replicas=1)
         or s["pdb"]["spec"].update(minAvailable=1) or s["pdb"]["spec"].pop("maxUnavailable"),
         "minAvailable 1 allows no eviction at the minimum of 1 pod(s) of Deployment app"),
    Case("selects-nothing", "pdb-allows-eviction",
         lambda s: s["pdb"]["spec"].update(selector={"matchLabels": {"app": "typo"}}), "selects no workload"),
    # hpa-min-replicas-production
    Case("min-replicas-1-in-production", "hpa-min-replicas-production",
         lambda s: s["hpa"]["spec"].update(minReplicas=1), "minReplicas is 1; production needs at least 2"),
    Case("min-replicas-default-in-production", "hpa-min-replicas-production",
         lambda s: s["hpa"]["spec"].pop("minReplicas"), "minReplicas is 1"),
    # hpa-no-static-replicas
    Case("replicas-under-hpa", "hpa-no-static-replicas",
         lambda s: s["deployment"]["spec"].update(replicas=3), "sets spec.replicas (3) although"),
    # network-policy-coverage
    Case("ingress-only-policy", "network-policy-coverage",
         lambda s: s["netpol"]["spec"].update(policyTypes=["Ingress"]), "no pod-specific NetworkPolicy"),
    Case("policy-selects-other-pods", "network-policy-coverage",
         lambda s: s["netpol"]["spec"].update(podSelector={"matchLabels": {"app": "other"}}),
         "no pod-specific NetworkPolicy"),
    Case("only-namespace-wide-policy", "network-policy-coverage", lambda s: s.pop("netpol"),
         "no pod-specific NetworkPolicy in shop selects its pods"),
    # default-deny-per-namespace
    Case("no-default-deny", "default-deny-per-namespace", lambda s: s.pop("deny"),
         "no default-deny NetworkPolicy (empty podSelector, no rules) for Egress and Ingress"),
    Case("namespace-wide-allow-egress", "default-deny-per-namespace",
         lambda s: s["deny"]["spec"].update(egress=[{}]), "for Egress"),
    # ingress-tls
    Case("no-tls", "ingress-tls", lambda s: s["ingress"]["spec"].pop("tls"), "has no tls section"),
    Case("host-not-covered", "ingress-tls",
         lambda s: s["ingress"]["spec"]["tls"][0].update(hosts=["other.example.com"]),
         f"host {HOST} is not covered by tls"),
    Case("no-secret-name", "ingress-tls", lambda s: s["ingress"]["spec"]["tls"][0].pop("secretName"),
         "tls entry 0 has no secretName"),
    # vpa-hpa-conflict
    Case("vpa-auto-on-cpu", "vpa-hpa-conflict",
         lambda s: s["vpa"]["spec"]["updatePolicy"].update(updateMode="Auto"),
         "updateMode Auto controls cpu, which HorizontalPodAutoscaler app scales"),
    Case("vpa-default-mode", "vpa-hpa-conflict", lambda s: s["vpa"]["spec"].pop("updatePolicy"), "updateMode Auto"),
    Case("vpa-recreate-default-resources", "vpa-hpa-conflict",
         lambda s: s["vpa"]["spec"].update(updatePolicy={"updateMode": "Recreate"}, resourcePolicy={}),
         "updateMode Recreate controls cpu"),
]


def violations(stack: dict, policy: str, environment: str):
    return check_manifests(list(stack.values()), environment, [POLICIES_BY_NAME[policy]])


@pytest.mark.parametrize("case", CASES, ids=[f"{case.policy}:{case.id}" for case in CASES])
def test_rule_passes_good_and_catches_bad(case):
    good = good_stack()
    assert violations(good, case.policy, case.environment) == []
    bad = good_stack()
    case.mutate(bad)
    found = violations(bad, case.policy, case.environment)
    assert any(case.expected in violation.message for violation in found), \
        f"expected '{case.expected}' in: {[str(violation) for violation in found]}"
    assert all(violation.policy == case.policy for violation in found)


def test_every_policy_has_cases():
    assert {case.policy for case in CASES} == set(POLICIES_BY_NAME)
    assert len(POLICIES) == 11


def test_good_stack_passes_every_policy_everywhere():
    for environment in ("production", "staging", "development"):
        assert check_manifests(list(good_stack().values()), environment) == []


@pytest.mark.parametrize("mutate", [
    lambda s: s["pdb"]["spec"].update(maxUnavailable="50%"),                       # ceil(2 * 50%) = 1
    lambda s: s["pdb"]["spec"].pop("maxUnavailable") and s["pdb"]["spec"].update(minAvailable="50%"),
    lambda s: s["pdb"]["spec"].update(selector={"matchExpressions": [
        {"key": "app", "operator": "In", "values": ["app"]}]}),
    lambda s: s["ingress"]["spec"]["tls"][0].update(hosts=["*.example.com"]),
    lambda s: main(s).update(image="registry.example/shop/app@sha256:" + "a" * 64),
    lambda s: main(s)["securityContext"].update(seccompProfile={"type": "Localhost", "localhostProfile": "p.json"}),
    lambda s: main(s)["securityContext"]["capabilities"].update(add=["NET_BIND_SERVICE"]),
    lambda s: s["vpa"]["spec"].update(updatePolicy={"updateMode": "Recreate"}, resourcePolicy={
        "containerPolicies": [{"containerName": "app", "controlledResources": ["memory"]}]}),
    lambda s: s["vpa"]["spec"]["updatePolicy"].update(updateMode="Initial"),
    lambda s: s["deployment"]["spec"].update(replicas=0) or s.pop("hpa"),           # an idle colour
    lambda s: pod(s)["containers"].append({**init_container(), "name": "log-shipper"}),
    lambda s: init(s).update(restartPolicy="Always"),
], ids=["pdb-max-unavailable-percent", "pdb-min-available-percent", "pdb-match-expressions", "wildcard-tls",
        "image-digest", "seccomp-localhost", "net-bind-service", "vpa-memory-vs-hpa-cpu", "vpa-initial",
        "scaled-to-zero", "helper-sidecar-without-ports", "native-sidecar-without-ports"])
def test_acceptable_variants_pass(mutate):
    stack = good_stack()
    mutate(stack)
    assert check_manifests(list(stack.values()), "production") == []


def test_min_replicas_1_is_fine_outside_production():
    stack = good_stack()
    stack["hpa"]["spec"]["minReplicas"] = 1
    stack["pdb"]["spec"]["maxUnavailable"] = 1
    assert check_manifests(list(stack.values()), "staging") == []
    found = check_manifests(list(stack.values()), "production")
    assert [violation.policy for violation in found] == ["hpa-min-replicas-production"]


def test_enforcement_is_mandatory_in_production_only():
    stack = good_stack()
    stack["ingress"]["spec"].pop("tls")
    assert {v.enforcement for v in check_manifests(list(stack.values()), "production")} == {MANDATORY}
    assert {v.enforcement for v in check_manifests(list(stack.values()), "staging")} == {ADVISORY}
    assert str(check_manifests(list(stack.values()), "staging")[0]) == \
        "[advisory] ingress-tls: Ingress shop/app: has no tls section: it would serve plain HTTP"


# --- every rendered stack ----------------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_check_manifests_finds_nothing_in_rendered_stack(stack):
    result = rendered(stack)
    environment = result.outputs.get("environment") or stack
    found = check_manifests(result.manifests, environment)
    assert found == [], f"{stack} ({environment}): " + "\n".join(map(str, found))
    print(f"{stack} ({environment}): {len(result.manifests)} objects, {len(POLICIES)} policies, no violations")


# --- environment and engine plumbing -----------------------------------------------------------

@pytest.mark.parametrize("environ, expected", [
    ({"MICROPAY_POLICY_ENVIRONMENT": "production", "PULUMI_STACK": "dev"}, "production"),
    ({"PULUMI_CONFIG": json.dumps({"micropay-platform:platform": json.dumps({"environment": "staging"})}),
      "PULUMI_STACK": "production"}, "staging"),
    ({"PULUMI_CONFIG": json.dumps({"micropay-platform:platform": {"environment": "production"}})}, "production"),
    ({"PULUMI_STACK": "acme/micropay-platform/planning-production"}, "production"),
    ({"PULUMI_STACK": "staging"}, "staging"),
    ({"PULUMI_CONFIG": "not json", "PULUMI_STACK": "production"}, "production"),
    ({}, "unknown"),
])
def test_environment_from(environ, expected):
    assert environment_from(environ) == expected
    assert rules.enforcement_for(expected) == (MANDATORY if expected == "production" else ADVISORY)


@pytest.mark.parametrize("resource_type, props, expected", [
    ("kubernetes:apps/v1:Deployment", {"metadata": {"name": "a"}, "spec": {}}, ("apps/v1", "Deployment")),
    ("kubernetes:core/v1:Namespace", {"metadata": {"name": "a"}}, ("v1", "Namespace")),
    ("kubernetes:networking.k8s.io/v1:NetworkPolicy", {"metadata": {"name": "a"}},
     ("networking.k8s.io/v1", "NetworkPolicy")),
    ("kubernetes:apiextensions.k8s.io:CustomResource",
     {"apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler", "metadata": {"name": "a"}},
     ("autoscaling.k8s.io/v1", "VerticalPodAutoscaler")),
    ("kubernetes:apps/v1:DeploymentPatch", {"metadata": {"name": "a"}}, None),
    ("kubernetes:core/v1:ConfigMapList", {"items": []}, None),
    ("kubernetes:helm.sh/v3:Release", {"chart": "x"}, None),
    ("kubernetes:helm.sh/v4:Chart", {"metadata": {"name": "a"}, "apiVersion": "v1", "kind": "ConfigMap"}, None),
    ("kubernetes:yaml/v2:ConfigGroup", {"metadata": {"name": "a"}, "apiVersion": "v1", "kind": "ConfigMap"}, None),
    ("kubernetes:core/v1:Secret", {"metadata": {"name": "a"}, "data": {"k": "<redacted>"}}, ("v1", "Secret")),
    ("random:index/randomPassword:RandomPassword", {"length": 32}, None),
])
def test_manifest_from_resource(resource_type, props, expected):
    manifest = manifest_from_resource(resource_type, props)
    assert (manifest and (manifest["apiVersion"], manifest["kind"])) == (expected or None)


@pytest.fixture
def pack_module(monkeypatch):
    """policy/__main__.py imported with PolicyPack captured instead of serving gRPC."""
    import pulumi_policy

    captured = {}
    monkeypatch.setattr(pulumi_policy, "PolicyPack", lambda **kwargs: captured.update(kwargs))
    sys.modules.pop("policy_pack_main", None)
    spec = importlib.util.spec_from_file_location("policy_pack_main", ROOT / "policy" / "__main__.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, captured


@pytest.mark.parametrize("environment, level", [("production", "MANDATORY"), ("staging", "ADVISORY")])
def test_pack_registers_every_policy_with_its_enforcement(pack_module, monkeypatch, environment, level):
    import pulumi_policy

    module, captured = pack_module
    assert module.rules is rules, "the pack must use policy.rules itself, not a second copy of it"
    monkeypatch.setenv("MICROPAY_POLICY_ENVIRONMENT", environment)
    module.main()
    assert captured["name"] == "micropay-platform"
    assert captured["enforcement_level"] == getattr(pulumi_policy.EnforcementLevel, level)
    registered = {policy.name: policy for policy in captured["policies"]}
    assert set(registered) == set(POLICIES_BY_NAME)
    for policy in POLICIES:
        expected = (pulumi_policy.StackValidationPolicy if policy.cross_object
                    else pulumi_policy.ResourceValidationPolicy)
        assert isinstance(registered[policy.name], expected), policy.name


def engine_resources(manifests):
    """Rendered objects the way the engine hands them to a stack policy."""
    from pulumi_policy.policy import PolicyResource, PolicyResourceOptions
    from pulumi_policy.proxy import unknown_checking_proxy

    resources = []
    for index, manifest in enumerate(manifests):
        group_version = manifest["apiVersion"] if "/" in manifest["apiVersion"] else "core/" + manifest["apiVersion"]
        resource_type = f"kubernetes:{group_version}:{manifest['kind']}"
        options = PolicyResourceOptions(False, [], None, [], None, [], None)
        resources.append(PolicyResource(resource_type, unknown_checking_proxy(json.loads(json.dumps(manifest))),
                                        f"urn:pulumi:test::micropay::{resource_type}::r{index}", f"r{index}",
                                        options, None, None, [], {}))
    return resources


def test_stack_and_resource_policies_run_under_the_engine_adapter(pack_module):
    from pulumi_policy import ResourceValidationArgs, StackValidationArgs

    module, _ = pack_module
    bad = good_stack()
    bad["pdb"]["spec"]["maxUnavailable"] = 0
    bad["ingress"]["spec"].pop("tls")
    registered = {policy.name: policy for policy in module.policies("production")}
    resources = engine_resources(list(bad.values()))

    reports = []
    registered["pdb-allows-eviction"].validate(StackValidationArgs(resources, None),
                                               lambda message, urn=None: reports.append((message, urn)))
    assert len(reports) == 1
    assert reports[0][0].startswith("PodDisruptionBudget shop/app: maxUnavailable 0 allows no eviction")
    assert reports[0][1].endswith("kubernetes:policy/v1:PodDisruptionBudget::r5")

    reports.clear()
    ingress = resources[6]
    args = ResourceValidationArgs(ingress.resource_type, ingress.props, ingress.urn, ingress.name, ingress.opts,
                                  None, None)
    registered["ingress-tls"].validate(args, lambda message, urn=None: reports.append(message))
    assert reports == ["Ingress shop/app: has no tls section: it would serve plain HTTP"]


def test_pack_files():
    project = yaml.safe_load((ROOT / "policy" / "PulumiPolicy.yaml").read_text())
    assert project["runtime"]["name"] == "python"
    assert (ROOT / "policy" / project["runtime"]["options"]["virtualenv"]).resolve() == ROOT / ".venv"
    pack_pins = pins(ROOT / "policy" / "requirements.txt")
    assert pack_pins.keys() == {"pulumi", "pulumi-policy"}
    assert pack_pins.items() <= pins().items(), "policy/requirements.txt and requirements.txt disagree"
    assert json.loads((ROOT / "policy" / "mandatory.json").read_text()) == {"all": "mandatory"}
    assert json.loads((ROOT / "policy" / "advisory.json").read_text()) == {"all": "advisory"}


def test_rules_module_is_pure():
    source = Path(rules.__file__).read_text()
    assert "import pulumi" not in source and "from pulumi" not in source


def test_pack_over_the_engine_protocol():
    """Boot the pack as the engine does (python -m pulumi.policy in policy/) and talk gRPC to it."""
    import copy
    import os
    import subprocess

    import grpc
    from google.protobuf import empty_pb2, struct_pb2
    from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

    def resource(index: int, manifest: dict):
        group_version = manifest["apiVersion"] if "/" in manifest["apiVersion"] else "core/" + manifest["apiVersion"]
        resource_type = f"kubernetes:{group_version}:{manifest['kind']}"
        properties = struct_pb2.Struct()
        properties.update(json.loads(json.dumps(manifest)))            # numbers travel as floats
        return analyzer_pb2.AnalyzerResource(type=resource_type, properties=properties, name=f"r{index}",
                                             urn=f"urn:pulumi:s::micropay-platform::{resource_type}::r{index}")

    manifests = copy.deepcopy(rendered("production").manifests)
    for environment, level in (("production", "MANDATORY"), ("staging", "ADVISORY")):
        env = {**os.environ, "PULUMI_STACK": environment, "PULUMI_PROJECT": "micropay-platform",
               "PULUMI_DRY_RUN": "true", "PULUMI_CONFIG": json.dumps(
                   {"micropay-platform:platform": json.dumps({"environment": environment})})}
        env.pop(rules.ENVIRONMENT_VARIABLE, None)
        process = subprocess.Popen([sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", "."],
                                   cwd=ROOT / "policy", stdout=subprocess.PIPE, text=True, env=env)
        try:
            stub = analyzer_pb2_grpc.AnalyzerStub(grpc.insecure_channel(f"127.0.0.1:{int(process.stdout.readline())}"))
            info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
            assert info.name == "micropay-platform"
            assert {policy.name for policy in info.policies} == set(POLICIES_BY_NAME)
            assert {analyzer_pb2.EnforcementLevel.Name(policy.enforcementLevel) for policy in info.policies} == {level}

            clean = stub.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(
                resources=[resource(index, item) for index, item in enumerate(manifests)]), timeout=60)
            assert [diagnostic.message for diagnostic in clean.diagnostics] == []

            broken = copy.deepcopy(manifests)
            pdb = next(item for item in broken if item["kind"] == "PodDisruptionBudget")
            pdb["spec"]["maxUnavailable"] = 0
            found = stub.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(
                resources=[resource(index, item) for index, item in enumerate(broken)]), timeout=60).diagnostics
            assert [diagnostic.policyName for diagnostic in found] == ["pdb-allows-eviction"]
            assert analyzer_pb2.EnforcementLevel.Name(found[0].enforcementLevel) == level
            assert f"PodDisruptionBudget {pdb['metadata']['namespace']}/{pdb['metadata']['name']}: maxUnavailable 0" \
                in found[0].message

            ingress = next(item for item in broken if item["kind"] == "Ingress")
            ingress["spec"].pop("tls")
            request = resource(0, ingress)
            found = stub.Analyze(analyzer_pb2.AnalyzeRequest(
                type=request.type, properties=request.properties, urn=request.urn, name=request.name),
                timeout=30).diagnostics
            assert [diagnostic.policyName for diagnostic in found] == ["ingress-tls"]
        finally:
            process.kill()
            process.wait()
