"""Schema validation of rendered Kubernetes objects.

    python -m validation.schemas production staging     # render and validate stacks
    python -m validation.schemas build/render/*.yaml     # validate YAML files

Built-in kinds (any apiVersion whose group the Kubernetes API server itself serves) are checked
against the OpenAPI schemas bundled by ``kubernetes-validate``, in strict mode (unknown fields are
errors), for the oldest and the newest bundled Kubernetes version that is at least
``MINIMUM_KUBERNETES`` (``KUBERNETES_VERSIONS``).

Custom resources are checked with ``jsonschema.Draft7Validator`` against JSON schemas laid out the
kubeconform way, ``{group}/{kind lower-case}_{version}.json``, looked up in order in:

1. every directory of ``$MICROPAY_CRD_SCHEMAS`` (``os.pathsep``-separated),
2. ``<repo root>/../shared/schemas/crds``,
3. ``~/.cache/micropay-platform/crd-schemas`` (a download cache; nothing is downloaded here).

An object without a schema fails, and so does an object of a removed or deprecated API version.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping

import jsonschema
from jsonschema.exceptions import best_match
from kubernetes_validate import utils as kubernetes_validate
from packaging.version import Version
from referencing import Registry, Resource

from platform_config.paths import PROJECT_ROOT as REPO_ROOT

MINIMUM_KUBERNETES = "1.29"
CRD_SCHEMAS_ENV = "MICROPAY_CRD_SCHEMAS"
SHARED_CRD_SCHEMAS = Path("shared") / "schemas" / "crds"          # beside the repository
CACHE_CRD_SCHEMAS = Path(".cache") / "micropay-platform" / "crd-schemas"   # under the home directory
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
MAX_MESSAGE = 300

# Groups the API server served once but no bundled schema set knows any more.
HISTORICAL_GROUPS = frozenset({"extensions", "settings.k8s.io", "auditregistration.k8s.io"})

# Built-in API versions that are no longer served: (group/version, kind or None for every kind)
# -> (Kubernetes release that removed it, what to use instead). From the Kubernetes deprecation guide.
REMOVED_APIS: dict[tuple[str, str | None], tuple[str, str]] = {
    ("extensions/v1beta1", None): ("1.22", "apps/v1, networking.k8s.io/v1 or policy/v1"),
    ("apps/v1beta1", None): ("1.16", "apps/v1"),
    ("apps/v1beta2", None): ("1.16", "apps/v1"),
    ("networking.k8s.io/v1beta1", "Ingress"): ("1.22", "networking.k8s.io/v1"),
    ("networking.k8s.io/v1beta1", "IngressClass"): ("1.22", "networking.k8s.io/v1"),
    ("rbac.authorization.k8s.io/v1beta1", None): ("1.22", "rbac.authorization.k8s.io/v1"),
    ("rbac.authorization.k8s.io/v1alpha1", None): ("1.22", "rbac.authorization.k8s.io/v1"),
    ("admissionregistration.k8s.io/v1beta1", "MutatingWebhookConfiguration"):
        ("1.22", "admissionregistration.k8s.io/v1"),
    ("admissionregistration.k8s.io/v1beta1", "ValidatingWebhookConfiguration"):
        ("1.22", "admissionregistration.k8s.io/v1"),
    ("apiextensions.k8s.io/v1beta1", None): ("1.22", "apiextensions.k8s.io/v1"),
    ("apiregistration.k8s.io/v1beta1", None): ("1.22", "apiregistration.k8s.io/v1"),
    ("certificates.k8s.io/v1beta1", "CertificateSigningRequest"): ("1.22", "certificates.k8s.io/v1"),
    ("coordination.k8s.io/v1beta1", "Lease"): ("1.22", "coordination.k8s.io/v1"),
    ("scheduling.k8s.io/v1beta1", "PriorityClass"): ("1.22", "scheduling.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "StorageClass"): ("1.22", "storage.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "CSIDriver"): ("1.22", "storage.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "CSINode"): ("1.22", "storage.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "VolumeAttachment"): ("1.22", "storage.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "CSIStorageCapacity"): ("1.27", "storage.k8s.io/v1"),
    ("batch/v1beta1", None): ("1.25", "batch/v1"),
    ("discovery.k8s.io/v1beta1", None): ("1.25", "discovery.k8s.io/v1"),
    ("events.k8s.io/v1beta1", None): ("1.25", "events.k8s.io/v1"),
    ("autoscaling/v2beta1", None): ("1.25", "autoscaling/v2"),
    ("autoscaling/v2beta2", None): ("1.26", "autoscaling/v2"),
    ("policy/v1beta1", None): ("1.25", "policy/v1 (PodSecurityPolicy: Pod Security Admission labels)"),
    ("node.k8s.io/v1beta1", None): ("1.25", "node.k8s.io/v1"),
    ("flowcontrol.apiserver.k8s.io/v1beta1", None): ("1.26", "flowcontrol.apiserver.k8s.io/v1"),
    ("flowcontrol.apiserver.k8s.io/v1beta2", None): ("1.29", "flowcontrol.apiserver.k8s.io/v1"),
    ("flowcontrol.apiserver.k8s.io/v1beta3", None): ("1.32", "flowcontrol.apiserver.k8s.io/v1"),
}

# Custom-resource API versions their operators deprecated or stopped serving:
# group/version -> (why, what to use instead).
DEPRECATED_CRD_APIS: dict[str, tuple[str, str]] = {
    "networking.istio.io/v1alpha3": ("deprecated since Istio 1.22 promoted the networking APIs to v1",
                                     "networking.istio.io/v1"),
    "security.istio.io/v1alpha1": ("removed in Istio 1.6", "security.istio.io/v1"),
    "external-secrets.io/v1alpha1": ("no longer served by the External Secrets Operator",
                                     "external-secrets.io/v1"),
    "external-secrets.io/v1beta1": ("deprecated since External Secrets Operator 0.16 promoted the API to v1",
                                    "external-secrets.io/v1"),
    "cert-manager.io/v1alpha2": ("removed in cert-manager 1.6", "cert-manager.io/v1"),
    "cert-manager.io/v1alpha3": ("removed in cert-manager 1.6", "cert-manager.io/v1"),
    "cert-manager.io/v1beta1": ("removed in cert-manager 1.6", "cert-manager.io/v1"),
    "autoscaling.k8s.io/v1beta1": ("removed from the Vertical Pod Autoscaler", "autoscaling.k8s.io/v1"),
    "autoscaling.k8s.io/v1beta2": ("deprecated by the Vertical Pod Autoscaler", "autoscaling.k8s.io/v1"),
}


# --- Kubernetes versions -----------------------------------------------------------------------

def bundled_kubernetes_versions() -> list[str]:
    """Every Kubernetes minor version (``1.29``) whose schemas kubernetes-validate ships, ascending."""
    return sorted({kubernetes_validate.major_minor(version) for version in kubernetes_validate.all_versions()},
                  key=Version)


def target_kubernetes_versions(minimum: str = MINIMUM_KUBERNETES) -> tuple[str, ...]:
    """The oldest and the newest bundled version that is at least ``minimum``."""
    supported = [version for version in bundled_kubernetes_versions() if Version(version) >= Version(minimum)]
    if not supported:
        raise RuntimeError(f"kubernetes-validate bundles no schemas for Kubernetes >= {minimum}")
    return tuple(dict.fromkeys((supported[0], supported[-1])))


KUBERNETES_VERSIONS: tuple[str, ...] = target_kubernetes_versions()


def _schema_dir(minor: str) -> str:
    """The bundled strict schema directory for a minor version (``v1.29.0-local-strict``)."""
    releases = [version for version in kubernetes_validate.all_versions()
                if kubernetes_validate.major_minor(version) == minor]
    if not releases:
        raise ValueError(f"kubernetes-validate has no schemas for Kubernetes {minor} "
                         f"(it has {', '.join(bundled_kubernetes_versions())})")
    return f"kubernetes-json-schema/v{releases[-1]}-local-strict"


@lru_cache(maxsize=None)
def _definitions(minor: str) -> dict:
    return kubernetes_validate.schema_contents(f"{_schema_dir(minor)}/_definitions.json", minor)


@lru_cache(maxsize=None)
def _registry(minor: str) -> Registry:
    return Resource.from_contents(_definitions(minor)) @ Registry()


# --- API groups --------------------------------------------------------------------------------

def split_api_version(api_version: str) -> tuple[str, str]:
    """``apps/v1`` -> (``apps``, ``v1``); ``v1`` -> (``""``, ``v1``)."""
    group, _, version = api_version.rpartition("/")
    return group, version


@lru_cache(maxsize=None)
def builtin_groups() -> frozenset[str]:
    """API groups the Kubernetes API server serves itself (``""`` is the core group)."""
    groups = set(HISTORICAL_GROUPS)
    for minor in bundled_kubernetes_versions():
        for definition in _definitions(minor)["$defs"].values():
            groups.update(gvk["group"] for gvk in definition.get("x-kubernetes-group-version-kind", []))
    return frozenset(groups)


def is_builtin(api_version: str) -> bool:
    return split_api_version(api_version)[0] in builtin_groups()


def removed_api(api_version: str, kind: str) -> str | None:
    """Why an apiVersion/kind must not be used any more, or None."""
    entry = REMOVED_APIS.get((api_version, kind)) or REMOVED_APIS.get((api_version, None))
    if entry:
        release, replacement = entry
        return (f"removed API version: {kind} {api_version} is no longer served since Kubernetes {release}; "
                f"use {replacement}")
    if api_version in DEPRECATED_CRD_APIS:
        why, replacement = DEPRECATED_CRD_APIS[api_version]
        return f"deprecated API version: {kind} {api_version} is {why}; use {replacement}"
    return None


# --- Schemas -----------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _core_validator(minor: str, api_version: str, kind: str) -> jsonschema.protocols.Validator | None:
    """The strict validator of a built-in kind for one Kubernetes version; None if that version lacks it."""
    short = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)   # kubernetes-validate's file naming
    try:
        schema = kubernetes_validate.schema_contents(f"{_schema_dir(minor)}/{kind.lower()}-{short}.json", minor)
    except FileNotFoundError:
        return None
    group, version = split_api_version(api_version)
    if not any((gvk["group"], gvk["version"], gvk["kind"]) == (group, version, kind)
               for gvk in schema.get("x-kubernetes-group-version-kind", [])):
        return None
    return jsonschema.Draft202012Validator(schema, registry=Resource.from_contents(schema) @ _registry(minor))


@lru_cache(maxsize=None)
def _object_meta_validator(minor: str) -> jsonschema.protocols.Validator:
    reference = {"$ref": f"{_definitions(minor)['$id']}#/$defs/{OBJECT_META}"}
    return jsonschema.Draft202012Validator(reference, registry=_registry(minor))


def crd_schema_locations(environ: Mapping[str, str] | None = None, repo_root: Path = REPO_ROOT,
                         home: Path | None = None) -> list[Path]:
    """Where custom-resource schemas are looked up, in order."""
    environ = os.environ if environ is None else environ
    locations = [Path(entry).expanduser() for entry in environ.get(CRD_SCHEMAS_ENV, "").split(os.pathsep)
                 if entry.strip()]
    locations.append(Path(repo_root).parent / SHARED_CRD_SCHEMAS)
    locations.append((Path.home() if home is None else Path(home)) / CACHE_CRD_SCHEMAS)
    return locations


def crd_schema_name(api_version: str, kind: str) -> str:
    group, version = split_api_version(api_version)
    return f"{group}/{kind.lower()}_{version}.json"


def find_crd_schema(api_version: str, kind: str, locations: Iterable[Path]) -> Path | None:
    name = crd_schema_name(api_version, kind)
    for location in locations:
        candidate = Path(location) / name
        if candidate.is_file():
            return candidate
    return None


GLOBAL_FLAGS = re.compile(r"\(\?[aiLmsux]+\)")


def _python_pattern(pattern: str) -> str:
    """CRD schemas carry Go regular expressions; Python wants inline global flags (``(?i)``) first."""
    flags = GLOBAL_FLAGS.findall(pattern)
    if not flags or pattern.startswith(flags[0]) and len(flags) == 1:
        return pattern
    return "".join(dict.fromkeys(flags)) + GLOBAL_FLAGS.sub("", pattern)


def _portable(schema):
    if isinstance(schema, dict):
        return {key: _python_pattern(value) if key == "pattern" and isinstance(value, str) else _portable(value)
                for key, value in schema.items()}
    if isinstance(schema, list):
        return [_portable(item) for item in schema]
    return schema


@lru_cache(maxsize=None)
def _crd_validator(path: Path, modified: float) -> jsonschema.Draft7Validator:
    schema = _portable(json.loads(path.read_text()))
    problem = best_match(jsonschema.Draft7Validator(jsonschema.Draft7Validator.META_SCHEMA).iter_errors(schema))
    if problem is not None:
        raise jsonschema.SchemaError(f"{'/'.join(map(str, problem.absolute_path))}: {problem.message[:MAX_MESSAGE]}")
    return jsonschema.Draft7Validator(schema)


# --- Findings and reports ----------------------------------------------------------------------

@dataclass(frozen=True)
class SchemaFinding:
    object: str      # "Deployment micropay-core/api-gateway"
    against: str     # "Kubernetes 1.29 (strict)", a schema file, or "API versions"
    message: str

    def __str__(self) -> str:
        return f"{self.object} [{self.against}]: {self.message}"


@dataclass
class ValidationReport:
    kubernetes_versions: tuple[str, ...]
    objects: int = 0
    builtin: int = 0
    custom: int = 0
    validations: int = 0                      # schema checks run (object x schema)
    kinds: Counter = field(default_factory=Counter)
    findings: list[SchemaFinding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def summary(self, label: str | None = None) -> str:
        versions = " and ".join(self.kubernetes_versions)
        head = f"{label}: " if label else ""
        return (f"{head}{self.objects} objects validated ({self.builtin} built-in against Kubernetes {versions} "
                f"strict, {self.custom} custom resources against CRD schemas; {self.validations} schema checks), "
                f"{len(self.findings)} findings")


def describe(manifest: Mapping) -> str:
    metadata = manifest.get("metadata") or {}
    namespace = metadata.get("namespace")
    name = metadata.get("name", "<unnamed>")
    return f"{manifest.get('kind', '<no kind>')} {namespace + '/' if namespace else ''}{name}"


def _error_text(error: jsonschema.ValidationError) -> str:
    if error.context:   # oneOf/anyOf: the branch that came closest says more than "is not valid under"
        error = best_match(error.context)
    where = "/".join(str(part) for part in error.absolute_path) or "(root)"
    message = error.message if len(error.message) <= MAX_MESSAGE else error.message[:MAX_MESSAGE] + "..."
    return f"{where}: {message}"


def _errors(validator: jsonschema.protocols.Validator, instance) -> list[str]:
    errors = sorted(validator.iter_errors(instance), key=lambda error: [str(part) for part in error.absolute_path])
    return list(dict.fromkeys(_error_text(error) for error in errors))


def validate_object(manifest: Mapping, kubernetes_versions: Iterable[str] | None = None,
                    locations: Iterable[Path] | None = None) -> list[SchemaFinding]:
    """Every schema finding for one object (empty when it is valid)."""
    return _validate(manifest, tuple(kubernetes_versions or KUBERNETES_VERSIONS),
                     list(crd_schema_locations() if locations is None else locations))[0]


def _validate(manifest: Mapping, versions: tuple[str, ...], locations: list[Path]
              ) -> tuple[list[SchemaFinding], int, bool]:
    """(findings, schema checks run, is built-in)."""
    who = describe(manifest)
    api_version, kind = manifest.get("apiVersion"), manifest.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str) or not api_version or not kind:
        return [SchemaFinding(who, "object", "no apiVersion and kind")], 0, False
    builtin = is_builtin(api_version)
    reason = removed_api(api_version, kind)
    if reason:
        return [SchemaFinding(who, "API versions", reason)], 0, builtin
    findings: list[SchemaFinding] = []
    checks = 0
    if builtin:
        for minor in versions:
            against = f"Kubernetes {minor} (strict)"
            validator = _core_validator(minor, api_version, kind)
            if validator is None:
                findings.append(SchemaFinding(who, against, (
                    f"Kubernetes {minor} serves no {kind} in {api_version} (removed, not yet served, or misspelt)")))
                continue
            checks += 1
            findings += [SchemaFinding(who, against, text) for text in _errors(validator, manifest)]
        return findings, checks, True

    path = find_crd_schema(api_version, kind, locations)
    if path is None:
        searched = "; ".join(str(location) for location in locations)
        return [SchemaFinding(who, "CRD schemas", (
            f"no schema for {kind} {api_version}: looked for {crd_schema_name(api_version, kind)} in {searched} "
            f"(add the schema to one of them, or point ${CRD_SCHEMAS_ENV} at a directory holding it)"))], 0, False
    try:
        validator = _crd_validator(path.resolve(), path.stat().st_mtime)
    except (ValueError, jsonschema.SchemaError) as error:
        return [SchemaFinding(who, str(path), f"unusable schema file: {str(error)[:MAX_MESSAGE]}")], 0, False
    checks += 1
    findings += [SchemaFinding(who, str(path), text) for text in _errors(validator, manifest)]
    newest = versions[-1]
    if isinstance(manifest.get("metadata"), Mapping):   # the CRD schemas leave metadata open; the API server does not
        checks += 1
        findings += [SchemaFinding(who, f"Kubernetes {newest} ObjectMeta (strict)", f"metadata/{text}")
                     for text in _errors(_object_meta_validator(newest), manifest["metadata"])]
    return findings, checks, False


def validate_manifests(manifests: Iterable[Mapping], kubernetes_versions: Iterable[str] | None = None,
                       locations: Iterable[Path] | None = None) -> ValidationReport:
    """Validate every object; the report counts them and lists every finding."""
    versions = tuple(kubernetes_versions or KUBERNETES_VERSIONS)
    where = list(crd_schema_locations() if locations is None else locations)
    report = ValidationReport(kubernetes_versions=versions)
    for manifest in manifests:
        findings, checks, builtin = _validate(manifest, versions, where)
        report.objects += 1
        report.builtin += builtin
        report.custom += not builtin
        report.validations += checks
        report.kinds[str(manifest.get("kind"))] += 1
        report.findings += findings
    return report


# --- Command line ------------------------------------------------------------------------------

def _load(target: str) -> tuple[str, list[dict]]:
    if target.endswith((".yaml", ".yml")) or os.sep in target:
        import yaml

        return target, [document for document in yaml.safe_load_all(Path(target).read_text()) if document]
    from tools.render import render_stack

    return target, render_stack(target).manifests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="+", metavar="STACK_OR_YAML")
    args = parser.parse_args(argv)
    failed = False
    for target in args.targets:
        label, manifests = _load(target)
        report = validate_manifests(manifests)
        for finding in report.findings:
            print(f"  {finding}")
        print(report.summary(label))
        failed |= not report.ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
