"""Render every stack under mocks and hold each one to the platform's invariants."""

import json

from conftest import STACKS, objects, rendered, rendered_text
from invariants import check_workloads


def test_every_stack_renders_with_objects(stack):
    result = rendered(stack)
    assert len(result.manifests) > 10
    assert {"Namespace", "Deployment", "Service", "NetworkPolicy"} <= {item["kind"] for item in result.manifests}


def test_every_workload_passes_the_invariants(stack):
    assert check_workloads(rendered(stack).manifests) == []


def test_object_names_are_unique(stack):
    keys = [(item["kind"], item["metadata"].get("namespace"), item["metadata"]["name"])
            for item in rendered(stack).manifests]
    assert len(keys) == len(set(keys))


def whole_floats(value, path: str = "") -> list[str]:
    """Where a whole number is a float (the mocks hand numbers back as floats; the API wants integers)."""
    if isinstance(value, float) and value.is_integer():
        return [path]
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in whole_floats(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [found for index, item in enumerate(value) for found in whole_floats(item, f"{path}.{index}")]
    return []


def test_whole_floats_are_found():
    assert whole_floats({"a": [1, 2.5, {"b": 3.0}], "c": "4.0"}) == [".a.2.b"]


def test_integers_stay_integers(stack):
    # A stable render (the same text twice) is what tests/test_golden.py checks against the committed files.
    assert [where for item in rendered(stack).manifests for where in whole_floats(item, item["kind"])] == []
    for deployment in objects(stack, "Deployment"):
        assert isinstance(deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"], int)


def test_no_secret_value_reaches_the_rendered_yaml(stack):
    from tools.render import MOCK_RANDOM_RESULT, dump

    text = rendered_text(stack)
    assert MOCK_RANDOM_RESULT not in text
    for secret in objects(stack, "Secret"):
        for section in ("data", "stringData"):
            assert set(secret.get(section, {}).values()) <= {"<redacted>"}
    # Even static, non-sensitive values (user names) stay out of Secret objects; only an
    # ExternalSecret's template may carry them, since it has no sensitive key to protect.
    assert "payment_user" not in dump(objects(stack, "Secret"))


def test_namespaces_enforce_restricted_pod_security(stack):
    for namespace in objects(stack, "Namespace"):
        labels = namespace["metadata"]["labels"]
        assert labels["name"] == namespace["metadata"]["name"]
        for mode in ("enforce", "audit", "warn"):
            assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"


def test_each_namespace_has_quota_limits_and_dns(stack):
    for namespace in objects(stack, "Namespace"):
        name = namespace["metadata"]["name"]
        kinds = {(item["kind"], item["metadata"]["name"]) for item in rendered(stack).manifests
                 if item["metadata"].get("namespace") == name}
        assert ("ResourceQuota", f"{name}-quota") in kinds
        assert ("LimitRange", f"{name}-limits") in kinds
        assert ("NetworkPolicy", "allow-dns-egress") in kinds


def test_service_account_tokens_only_where_the_service_calls_the_api(stack):
    """No pod automounts a token; services granted a Role get a short-lived projected one in the main container."""
    roles = {(role["metadata"]["namespace"], role["metadata"]["name"]) for role in objects(stack, "Role")}
    for account in objects(stack, "ServiceAccount"):
        assert account["automountServiceAccountToken"] is False
    for deployment in objects(stack, "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        granted = (deployment["metadata"]["namespace"], f"{deployment['metadata']['labels']['app']}-role") in roles
        assert pod["automountServiceAccountToken"] is False
        token_volumes = [volume for volume in pod["volumes"] if volume["name"] == "kube-api-access"]
        assert bool(token_volumes) is granted, deployment["metadata"]["name"]
        main, *helpers = pod["containers"] + pod.get("initContainers", [])
        mounted = [mount for mount in main["volumeMounts"] if mount["name"] == "kube-api-access"]
        assert bool(mounted) is granted
        assert not [mount for helper in helpers for mount in helper.get("volumeMounts", [])
                    if mount["name"] == "kube-api-access"]
        if granted:
            sources = token_volumes[0]["projected"]["sources"]
            assert sources[0]["serviceAccountToken"]["expirationSeconds"] == 3600
            assert mounted[0]["readOnly"] is True


def test_config_change_rolls_pods():
    """The checksum annotation follows the ConfigMap content."""
    from platform_config.stack import stack_file_config
    from tools.render import render_config

    settings, secrets, _ = stack_file_config("development")
    changed = json.loads(json.dumps(settings))
    changed.setdefault("services", {})["payment-service"] = {"configFiles": {"application.yml": "server:\n  port: 8083\n"}}

    def checksums(result):
        return {item["metadata"]["name"]: item["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
                for item in result.manifests if item["kind"] == "Deployment"}

    before, after = checksums(rendered("development")), checksums(render_config("development", changed, secrets))
    assert {name for name in before if before[name] != after[name]} == {"payment-service-blue"}


def test_render_cli_writes_the_stack_s_objects(tmp_path, capsys):
    from tools.golden import golden_path
    from tools.render import main

    out = tmp_path / "example-service.yaml"
    assert main(["example-service", "--out", str(out)]) == 0
    assert out.read_text() == golden_path("example-service").read_text()
    assert capsys.readouterr().out.splitlines() == [
        f"example-service: 16 objects -> {out}",
        "  ConfigMap 2, Deployment 1, HorizontalPodAutoscaler 1, LimitRange 1, Namespace 1, NetworkPolicy 3, "
        "PodDisruptionBudget 1, PrometheusRule 1, ResourceQuota 1, Secret 1, Service 1, ServiceAccount 1, "
        "ServiceMonitor 1"]


def test_render_cli_reports_unknown_stack(capsys):
    from tools.render import main

    assert main(["nonexistent"]) == 2
    assert capsys.readouterr().err == f"error: no stack file Pulumi.nonexistent.yaml; stacks: {', '.join(STACKS)}\n"
