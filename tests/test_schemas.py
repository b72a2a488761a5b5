"""Gate 1: every rendered object validates against its schema (docs/validation.md)."""

import copy
import json

import kubernetes_validate
import pytest
from kubernetes_validate.utils import ValidationError as KubernetesValidateError

from conftest import STACKS, objects
from validation import schemas
from validation.schemas import (CRD_SCHEMAS_ENV, KUBERNETES_VERSIONS, crd_schema_locations, validate_manifests,
                                validate_object)

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "demo", "namespace": "demo", "labels": {"app": "demo"}},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "demo"}},
        "template": {
            "metadata": {"labels": {"app": "demo"}},
            "spec": {"containers": [{"name": "demo", "image": "registry.example/demo:1.0.0",
                                     "ports": [{"containerPort": 8080, "name": "http"}]}]},
        },
    },
}

WIDGET_SCHEMA = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "properties": {"size": {"type": "integer"}, "mode": {"type": "string", "pattern": "^(?i)(fast|slow)$"}},
            "required": ["size"],
            "additionalProperties": False,
        },
    },
    "required": ["spec"],
}
WIDGET = {"apiVersion": "widgets.example.com/v1", "kind": "Widget",
          "metadata": {"name": "w", "namespace": "demo"}, "spec": {"size": 3, "mode": "FAST"}}


def messages(findings) -> str:
    return "\n".join(str(finding) for finding in findings)


@pytest.fixture
def widget_schemas(tmp_path, monkeypatch):
    """A schema directory named by $MICROPAY_CRD_SCHEMAS holding widgets.example.com/widget_v1.json."""
    (tmp_path / "widgets.example.com").mkdir()
    (tmp_path / "widgets.example.com" / "widget_v1.json").write_text(json.dumps(WIDGET_SCHEMA))
    monkeypatch.setenv(CRD_SCHEMAS_ENV, str(tmp_path))
    return tmp_path


# --- every rendered object -----------------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_every_rendered_object_validates(stack):
    manifests = objects(stack)
    report = validate_manifests(manifests)
    print(report.summary(stack))
    assert report.objects == len(manifests) > 0
    assert report.builtin + report.custom == report.objects
    assert report.ok, f"{stack}: {len(report.findings)} schema findings:\n{messages(report.findings)}"


def test_kubernetes_version_range():
    bundled = schemas.bundled_kubernetes_versions()
    assert KUBERNETES_VERSIONS[0] == "1.29"
    assert KUBERNETES_VERSIONS[-1] == bundled[-1]
    assert KUBERNETES_VERSIONS == ("1.29", "1.37"), "kubernetes-validate changed: update docs/validation.md"


# --- built-in kinds ----------------------------------------------------------------------------------

def test_a_good_core_object_passes_here_and_in_kubernetes_validate():
    assert validate_object(DEPLOYMENT) == []
    for version in KUBERNETES_VERSIONS:
        kubernetes_validate.validate(DEPLOYMENT, version, strict=True)


def test_unknown_field_is_caught_for_every_version():
    bad = copy.deepcopy(DEPLOYMENT)
    bad["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    findings = validate_object(bad)
    assert {finding.against for finding in findings} == {f"Kubernetes {v} (strict)" for v in KUBERNETES_VERSIONS}
    assert all("'imagePullPolicyy' was unexpected" in finding.message for finding in findings), messages(findings)
    assert all("spec/template/spec/containers/0" in finding.message for finding in findings)
    with pytest.raises(KubernetesValidateError):
        kubernetes_validate.validate(bad, KUBERNETES_VERSIONS[-1], strict=True)


def test_wrong_type_is_caught():
    bad = copy.deepcopy(DEPLOYMENT)
    bad["spec"]["replicas"] = "three"
    bad["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = [8080]
    text = messages(validate_object(bad))
    assert "spec/replicas: 'three' is not of type 'integer'" in text
    assert "containers/0/ports/0/containerPort" in text
    with pytest.raises(KubernetesValidateError):
        kubernetes_validate.validate(bad, KUBERNETES_VERSIONS[0], strict=True)


def test_unknown_metadata_field_and_missing_required_field():
    bad = copy.deepcopy(DEPLOYMENT)
    bad["metadata"]["label"] = {"app": "demo"}
    del bad["spec"]["template"]["spec"]["containers"][0]["name"]
    text = messages(validate_object(bad))
    assert "'label' was unexpected" in text
    assert "'name' is a required property" in text


def test_misspelt_kind_is_not_served():
    findings = validate_object({**DEPLOYMENT, "kind": "Deploymnet"})
    assert len(findings) == len(KUBERNETES_VERSIONS)
    assert "serves no Deploymnet in apps/v1" in findings[0].message


# --- removed and deprecated API versions ---------------------------------------------------------

@pytest.mark.parametrize("api_version, kind, expected", [
    ("policy/v1beta1", "PodDisruptionBudget", "no longer served since Kubernetes 1.25; use policy/v1"),
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler", "since Kubernetes 1.26; use autoscaling/v2"),
    ("extensions/v1beta1", "Ingress", "since Kubernetes 1.22"),
    ("networking.k8s.io/v1beta1", "Ingress", "since Kubernetes 1.22; use networking.k8s.io/v1"),
    ("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema", "since Kubernetes 1.32"),
    ("networking.istio.io/v1alpha3", "VirtualService", "deprecated API version"),
    ("external-secrets.io/v1beta1", "ExternalSecret", "use external-secrets.io/v1"),
])
def test_removed_or_deprecated_api_version_fails(api_version, kind, expected):
    findings = validate_object({"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}, "spec": {}})
    assert len(findings) == 1, messages(findings)
    assert findings[0].against == "API versions"
    assert expected in findings[0].message, findings[0].message
    assert api_version in findings[0].message


def test_group_sharing_a_prefix_with_a_core_group_is_a_custom_resource():
    """autoscaling.k8s.io (the VPA) is a CRD even though autoscaling is built in."""
    assert schemas.is_builtin("autoscaling/v2") and schemas.is_builtin("v1")
    assert not schemas.is_builtin("autoscaling.k8s.io/v1")
    assert not schemas.is_builtin("gateway.networking.k8s.io/v1")


# --- custom resources --------------------------------------------------------------------------------

def test_custom_resource_validates_against_schema_from_env(widget_schemas):
    assert crd_schema_locations()[0] == widget_schemas
    assert validate_object(WIDGET) == []


def test_bad_custom_resource_is_caught(widget_schemas):
    bad = copy.deepcopy(WIDGET)
    bad["spec"] = {"size": "big", "mode": "medium", "colour": "red"}
    text = messages(validate_object(bad))
    assert "spec/size: 'big' is not of type 'integer'" in text
    assert "'colour' was unexpected" in text
    assert "spec/mode: 'medium' does not match" in text
    assert str(widget_schemas / "widgets.example.com" / "widget_v1.json") in text


def test_custom_resource_metadata_is_checked_strictly(widget_schemas):
    bad = copy.deepcopy(WIDGET)
    bad["metadata"]["labelz"] = {"a": "b"}
    text = messages(validate_object(bad))
    assert "metadata/(root): Additional properties are not allowed ('labelz' was unexpected)" in text


def test_missing_schema_fails_and_lists_every_location(widget_schemas, tmp_path_factory):
    other = tmp_path_factory.mktemp("more-schemas")
    locations = [widget_schemas, other]
    findings = validate_object({**WIDGET, "apiVersion": "widgets.example.com/v2"}, locations=locations)
    assert len(findings) == 1
    message = findings[0].message
    assert "no schema for Widget widgets.example.com/v2" in message
    assert "widgets.example.com/widget_v2.json" in message
    assert str(widget_schemas) in message and str(other) in message


def test_schema_locations_order(monkeypatch, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    monkeypatch.setenv(CRD_SCHEMAS_ENV, f"{first}{schemas.os.pathsep}{second}")
    locations = crd_schema_locations(repo_root=tmp_path / "repo", home=tmp_path / "home")
    assert locations == [first, second, tmp_path / "shared" / "schemas" / "crds",
                         tmp_path / "home" / ".cache" / "micropay-platform" / "crd-schemas"]
    monkeypatch.delenv(CRD_SCHEMAS_ENV)
    assert crd_schema_locations()[0] == schemas.REPO_ROOT.parent / "shared" / "schemas" / "crds"


def test_first_location_wins(widget_schemas, tmp_path_factory):
    looser = tmp_path_factory.mktemp("looser")
    (looser / "widgets.example.com").mkdir()
    (looser / "widgets.example.com" / "widget_v1.json").write_text(json.dumps({"type": "object"}))
    bad = {**WIDGET, "spec": {"size": "big"}}
    assert validate_object(bad, locations=[looser, widget_schemas]) == []
    assert validate_object(bad, locations=[widget_schemas, looser]) != []


def test_go_inline_flags_are_made_python_compatible():
    assert schemas._python_pattern("^(?i)(abort|warn)?$") == "(?i)^(abort|warn)?$"
    assert schemas._python_pattern("(?i)^x$") == "(?i)^x$"
    assert schemas._python_pattern("^(?i:x)$") == "^(?i:x)$"


def test_report_counts():
    report = validate_manifests([DEPLOYMENT, WIDGET, {"kind": "Nothing"}], locations=[])
    assert (report.objects, report.builtin, report.custom) == (3, 1, 2)
    assert report.validations == len(KUBERNETES_VERSIONS)
    assert len(report.findings) == 2
    assert report.summary("demo").startswith("demo: 3 objects validated (1 built-in against Kubernetes 1.29 and")
