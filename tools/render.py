"""Offline render: run the program under Pulumi mocks and write every Kubernetes object.

    python -m tools.render production            # -> build/render/production.yaml

The stack's config is read from ``Pulumi.<stack>.yaml``; encrypted values stand in as a
placeholder. Objects come out as the API server would receive them (camelCase fields,
integers as integers), in a stable order; Secret values are replaced with ``<redacted>``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.stack import wait_for_rpcs

from platform_config.loader import PROJECT, ConfigError
from platform_config.paths import PROJECT_ROOT
from platform_config.stack import stack_file_config
from policy.rules import manifest_from_resource

REDACTED = "<redacted>"
SECRET_SIGNATURE_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270"
KIND_ORDER = [
    "Namespace", "StorageClass", "ResourceQuota", "LimitRange", "NetworkPolicy", "ServiceAccount", "Role",
    "RoleBinding", "ConfigMap", "Secret", "ExternalSecret", "PersistentVolumeClaim", "Deployment", "Service",
    "HorizontalPodAutoscaler", "VerticalPodAutoscaler", "PodDisruptionBudget", "Ingress", "DestinationRule",
    "VirtualService", "PeerAuthentication", "AuthorizationPolicy", "RequestAuthentication", "ServiceMonitor",
    "PrometheusRule", "Schedule",
]
MOCK_RANDOM_RESULT = "mock-generated-secret"


@dataclass
class RecordingMocks(pulumi.runtime.Mocks):
    """Answers every registration with its own inputs and records it."""

    registered: list[tuple[str, str, dict]] = field(default_factory=list)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        outputs = dict(args.inputs)
        if args.typ.startswith("random:"):
            outputs["result"] = MOCK_RANDOM_RESULT
        self.registered.append((args.typ, args.name, dict(args.inputs)))
        return [f"{args.name}-id", outputs]

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


def _plain(value):
    """Mocks hand numbers back as floats (the API wants whole numbers as integers) and
    secrets wrapped in a signature envelope (their values never reach the output)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict) and value.get(SECRET_SIGNATURE_KEY) == SECRET_SIGNATURE:
        return REDACTED
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def to_manifest(resource_type: str, inputs: dict) -> dict | None:
    """A registered resource as the Kubernetes object the API server would receive (the policy pack's
    reading of a resource, so the tests check what the pack checks); None for anything else."""
    raw = dict(inputs)
    if raw.get("kind") == "Secret":
        # The provider marks the whole data map secret; keep its keys, never its values.
        for section in ("data", "stringData"):
            content = raw.get(section)
            if isinstance(content, dict) and content.get(SECRET_SIGNATURE_KEY) == SECRET_SIGNATURE:
                content = content["value"]
            if isinstance(content, dict):
                raw[section] = {key: REDACTED for key in content}
    return manifest_from_resource(resource_type, _plain(raw))


def sort_key(manifest: dict) -> tuple:
    kind = manifest["kind"]
    rank = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
    metadata = manifest["metadata"]
    return rank, kind, metadata.get("namespace", ""), metadata["name"]


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """Also keeps the resource options the engine would enforce (protect, retainOnDelete)."""

    def __init__(self, mocks):
        super().__init__(mocks)
        self.options: dict[str, dict[str, bool]] = {}

    def RegisterResource(self, request):
        self.options[request.name] = {"protect": bool(request.protect),
                                      "retainOnDelete": bool(getattr(request, "retainOnDelete", False))}
        return super().RegisterResource(request)


class WarningCollector(logging.Handler):
    """Keeps the program's warnings (pulumi.log.warn) so the CLI and tests can show them."""

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@dataclass
class RenderResult:
    manifests: list[dict]
    outputs: dict
    warnings: list[str]
    resource_count: int
    registrations: list[tuple[str, str, dict]]
    options: dict[str, dict[str, bool]]


@dataclass
class Evaluation:
    mocks: RecordingMocks
    monitor: RecordingMonitor
    outputs: dict
    warnings: list[str]


def run_under_mocks(mocks: RecordingMocks, project: str, stack: str, program, **mock_options):
    """Run `program` under Pulumi mocks until every registration has completed; return its
    result with outputs resolved. Garbage collection is paused meanwhile, as under the engine."""
    from platform_program import pause_garbage_collection, resume_garbage_collection

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    pulumi_mocks.set_mocks(mocks, project=project, stack=stack, preview=False, **mock_options)
    paused = pause_garbage_collection()
    try:
        result = pulumi.Output.from_input(program())
        loop.run_until_complete(wait_for_rpcs())
        return loop.run_until_complete(result.future())
    finally:
        loop.close()
        asyncio.set_event_loop(None)
        resume_garbage_collection(paused)


def evaluate(stack: str, settings: dict, secrets: dict[str, str],
             plain_secrets: frozenset[str] = frozenset()) -> Evaluation:
    """Validate (load), then run the program (deploy) under mocks until every registration has completed.
    A ConfigError is raised before the mocks start, so a refusal leaves no pending registration behind."""
    from platform_program import deploy, load

    config = load(stack, settings, secrets, plain_secrets)
    mocks = RecordingMocks()
    warnings = WarningCollector()
    logger = logging.getLogger(f"micropay.render.{stack}")
    logger.propagate = False
    logger.handlers = [warnings]
    monitor = RecordingMonitor(mocks)
    outputs = run_under_mocks(mocks, PROJECT, stack, lambda: deploy(config, secrets), logger=logger, monitor=monitor)
    return Evaluation(mocks, monitor, outputs, warnings.messages)


def render_config(stack: str, settings: dict, secrets: dict[str, str],
                  plain_secrets: frozenset[str] = frozenset()) -> RenderResult:
    """Evaluate the program for already-read config and turn its registrations into manifests."""
    run = evaluate(stack, settings, secrets, plain_secrets)
    manifests = [manifest for typ, _, inputs in run.mocks.registered
                 if (manifest := to_manifest(typ, inputs)) is not None]
    manifests.sort(key=sort_key)
    return RenderResult(manifests, run.outputs, run.warnings, len(run.mocks.registered), run.mocks.registered,
                        run.monitor.options)


def render_stack(stack: str) -> RenderResult:
    settings, secrets, plain_secrets = stack_file_config(stack)
    return render_config(stack, settings, secrets, frozenset(plain_secrets))


def object_key(manifest: dict) -> tuple[str, str, str]:
    return manifest["kind"], manifest["metadata"].get("namespace", ""), manifest["metadata"]["name"]


def diff_manifests(before: list[dict], after: list[dict]) -> dict[str, set[tuple[str, str, str]]]:
    """Which objects a config change adds, removes or changes: what `pulumi preview` would show."""
    old = {object_key(item): item for item in before}
    new = {object_key(item): item for item in after}
    return {
        "added": set(new) - set(old),
        "removed": set(old) - set(new),
        "changed": {key for key in set(old) & set(new) if old[key] != new[key]},
    }


class _Dumper(yaml.CSafeDumper):
    """libyaml's emitter (one output on every machine, and fast), with multi-line text as literal blocks."""


def _text(dumper: yaml.CSafeDumper, value: str) -> yaml.ScalarNode:
    # Dashboards and config files line by line, so a diff of a render shows the lines that changed
    # (the emitter falls back to a quoted string where a block cannot hold the text exactly).
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _text)


def dump(manifests: list[dict]) -> str:
    return yaml.dump_all(manifests, Dumper=_Dumper, sort_keys=True, default_flow_style=False, width=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stack")
    parser.add_argument("--out", type=Path, help="output file (default build/render/<stack>.yaml)")
    args = parser.parse_args(argv)
    try:
        result = render_stack(args.stack)
    except (ConfigError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out = args.out or PROJECT_ROOT / "build" / "render" / f"{args.stack}.yaml"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(dump(result.manifests))
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    kinds: dict[str, int] = {}
    for manifest in result.manifests:
        kinds[manifest["kind"]] = kinds.get(manifest["kind"], 0) + 1
    print(f"{args.stack}: {len(result.manifests)} objects -> {out}")
    print("  " + ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
