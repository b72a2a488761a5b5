"""The program under the real Pulumi engine (CLI, language host, stack files, config, secrets).

`make setup` provides the engine and the kubernetes and random resource plugins: the official
ones where they can be had, otherwise the project's own (plugins/, see README "The Pulumi
engine"). Every test here runs the real binaries; none is skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import STACKS
from platform_config.loader import ConfigError
from platform_config.paths import PROJECT_ROOT as ROOT
from platform_config.stack import stack_file_config
from tools.engine_project import copy_project
from tools.pins import pin
from tools.render import REDACTED, SECRET_SIGNATURE, SECRET_SIGNATURE_KEY, render_stack

CACHE = Path(os.environ.get("MICROPAY_CACHE", Path.home() / ".cache" / "micropay-platform"))
PASSPHRASE = "micropay-local"


def _engine_env(backend: Path) -> dict[str, str]:
    env = dict(os.environ)
    env_files = [CACHE / "plugins" / "env.sh"]  # the project's plugins, when set-up chose them
    if shutil.which("pulumi") is None:
        assert (CACHE / "env.sh").exists(), "no Pulumi engine: run `make setup`"
        env_files.insert(0, CACHE / "env.sh")
    for env_file in env_files:
        for line in env_file.read_text().splitlines() if env_file.exists() else []:
            if line.startswith("export "):
                key, _, value = line.removeprefix("export ").partition("=")
                env[key] = value.strip('"').replace("$PATH", env["PATH"])
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}:{env['PATH']}"
    env.update(PULUMI_BACKEND_URL=f"file://{backend}", PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
               PULUMI_SKIP_UPDATE_CHECK="true", PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
               PULUMI_DISABLE_CHECKPOINT_BACKUPS="true")
    return env


class Engine:
    """A copy of the project in a temporary directory with its own file backend."""

    def __init__(self, workdir: Path):
        self.project = workdir / "project"
        self.backend = workdir / "state"
        self.backend.mkdir()
        copy_project(self.project)
        self.env = _engine_env(self.backend)

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(["pulumi", *args], cwd=self.project, env=self.env, capture_output=True, text=True,
                                timeout=600)
        if check and result.returncode != 0:
            raise AssertionError(f"pulumi {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def stack(self, name: str) -> None:
        self.run("stack", "select", "--create", name, "--secrets-provider", "passphrase")

    def has_plugin(self, name: str, version: str) -> bool:
        listing = self.run("plugin", "ls", "--json", check=False)
        try:
            plugins = json.loads(listing.stdout or "[]")
        except json.JSONDecodeError:
            return False
        return any(plugin.get("name") == name and plugin.get("version") == version for plugin in plugins or [])

    def edit_stack_file(self, stack: str, change) -> None:
        path = self.project / f"Pulumi.{stack}.yaml"
        document = yaml.safe_load(path.read_text())
        change(document["config"])
        path.write_text(yaml.safe_dump(document, sort_keys=False))


@pytest.fixture
def engine(tmp_path) -> Engine:
    return Engine(tmp_path)


def _plugin_in_use(engine: Engine, name: str) -> tuple[str, str]:
    """(path or "official", version) of the resource plugin the engine will run for `name`."""
    ambient = shutil.which(f"pulumi-resource-{name}", path=engine.env["PATH"])
    if ambient:
        stamp = Path(f"{ambient}.stamp").read_text().split()
        return ambient, f"{stamp[2]}+micropay.{stamp[0].split('@', 1)[1]}"
    assert engine.has_plugin(name, pin(f"pulumi-{name}")), (
        f"no {name} resource plugin: neither the project's (run `make setup`) nor the official v{pin(f'pulumi-{name}')}")
    return "official", pin(f"pulumi-{name}")


@pytest.fixture
def providers(engine) -> Engine:
    for name in ("kubernetes", "random"):
        _plugin_in_use(engine, name)
    return engine


# --- with the engine alone ---------------------------------------------------------------------

def test_cli_matches_the_pinned_sdk(engine):
    version = engine.run("version").stdout.strip()
    assert version == f"v{pin('pulumi')}"


def test_engine_reads_every_stack_file_as_the_renderer_does(engine):
    """Config namespaces, structured values and secrets: the engine and the renderer agree."""
    for stack in STACKS:
        engine.stack(stack)
        shown = json.loads(engine.run("config", "--json", "--show-secrets").stdout)
        settings, secrets, _ = stack_file_config(stack)
        engine_settings = {key.split(":", 1)[1]: entry.get("objectValue", entry.get("value"))
                           for key, entry in shown.items() if key.startswith("micropay-platform:")
                           and not entry.get("secret")}
        engine_secrets = {key.split(":", 1)[1] for key, entry in shown.items() if entry.get("secret")}
        assert engine_settings == settings, stack
        assert engine_secrets == set(secrets), stack
        assert all(entry["value"] not in ("", None) for entry in shown.values() if entry.get("secret"))


def test_unprefixed_keys_and_yaml_words_read_alike_by_engine_and_renderer(engine):
    """A key without the project prefix belongs to the project, and `no` is a string, for both readers."""
    path = engine.project / "Pulumi.development.yaml"
    text = path.read_text().replace("  micropay-platform:defaults:\n", "  defaults:\n    env: {FEATURE_FLAG: no}\n")
    path.write_text(text)
    engine.stack("development")
    shown = json.loads(engine.run("config", "--json").stdout)
    engine_settings = {key.split(":", 1)[1]: entry.get("objectValue", entry.get("value"))
                       for key, entry in shown.items()}
    settings, _, _ = stack_file_config("development", engine.project)
    assert engine_settings == settings
    assert settings["defaults"]["env"] == {"FEATURE_FLAG": "no"}


def test_a_misspelt_prefix_stops_engine_and_renderer_alike(engine):
    engine.edit_stack_file("development", lambda config: config.update(
        {"micropay-platfrom:services": config.pop("micropay-platform:services")}))
    engine.stack("development")
    result = engine.run("preview", check=False)
    output = result.stdout + result.stderr
    with pytest.raises(ConfigError) as offline:
        stack_file_config("development", engine.project)
    [(key, message)] = offline.value.problems
    assert result.returncode != 0
    assert f"{key}: {message}" in output
    assert "unknown config namespace 'micropay-platfrom'; did you mean 'micropay-platform'?" in message
    assert "Traceback" not in output and "Task was destroyed" not in output


def test_missing_required_secret_stops_preview_with_the_programs_error(engine):
    engine.edit_stack_file("planning-production", lambda config: config.pop("micropay-platform:planning-jwt-secret-key"))
    engine.stack("planning-production")
    result = engine.run("preview", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "stack 'planning-production': invalid configuration" in output
    assert "pulumi config set --secret planning-jwt-secret-key" in output
    assert "Traceback" not in output


def test_bad_config_stops_preview_before_any_resource(engine):
    engine.edit_stack_file("development", lambda config: config["micropay-platform:defaults"].update(replcas=2))
    engine.stack("development")
    result = engine.run("preview", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "did you mean 'replicas'?" in output
    assert "Traceback" not in output
    assert "pulumi:providers:kubernetes" not in output


def test_destroy_and_stack_removal_leave_nothing_behind(engine):
    engine.stack("development")
    removal = subprocess.run(["scripts/pulumi_stack.sh", "development", "remove"], cwd=engine.project,
                             env=engine.env, capture_output=True, text=True, timeout=600)
    assert removal.returncode == 0, removal.stderr
    assert (engine.project / "Pulumi.development.yaml").exists()
    leftovers = [path for path in engine.backend.rglob("*") if path.is_file()
                 and "development" in path.name]
    assert leftovers == []


# --- with the provider plugins ------------------------------------------------------------------

def _rendered_by_provider(directory: Path) -> list[dict]:
    manifests = []
    for path in sorted(directory.rglob("*.yaml")):
        manifests += [item for item in yaml.safe_load_all(path.read_text()) if item]
    return manifests


def _normalise(manifest: dict) -> dict:
    manifest = json.loads(json.dumps(manifest))
    metadata = manifest.get("metadata", {})
    metadata.get("annotations", {}).pop("pulumi.com/autonamed", None)
    if not metadata.get("annotations"):
        metadata.pop("annotations", None)
    if manifest.get("kind") == "Secret":
        for section in ("data", "stringData"):
            if section in manifest:
                manifest[section] = {key: "<redacted>" for key in manifest[section]}
    return manifest


def _preview(engine: Engine) -> dict:
    return json.loads(engine.run("preview", "--json").stdout)


def _preview_changes(engine: Engine) -> dict[str, tuple[str, list[str]]]:
    """Resource name -> (operation, changed property paths) of every step that is not `same`."""
    return {step["urn"].rsplit("::", 1)[-1]: (step["op"], sorted(step.get("detailedDiff") or {}))
            for step in _preview(engine).get("steps", []) if step["op"] != "same"}


def test_engine_says_which_plugins_ran(providers):
    """The engine's own log names the version each plugin reported (GetPluginInfo)."""
    providers.stack("development")
    result = providers.run("preview", "--logtostderr", "-v=7")
    for name in ("kubernetes", "random"):
        path, version = _plugin_in_use(providers, name)
        print(f"{name}: {version} ({path})")
        assert f"GetPluginInfo() success (#version={version})" in result.stderr, name
        if path != "official":
            assert f"using pulumi-resource-{name} from $PATH at {path}" in result.stdout + result.stderr


def test_the_engine_home_of_the_cache_keeps_no_automatic_debug_log(engine):
    """The CLI's automatic log (70 % of a preview's engine CPU, profiled) is off in the engine home
    `make setup` made: a preview leaves no log there. An installed CLI keeps its own home as it is."""
    engine.stack("development")
    engine.run("preview")
    cache_cli = CACHE / "pulumi" / f"v{pin('pulumi')}" / "bin" / "pulumi"
    if shutil.which("pulumi", path=engine.env["PATH"]) == str(cache_cli):
        logs = Path(engine.env["PULUMI_HOME"]) / "logs"
        assert logs.is_file() and "MICROPAY_ENGINE_LOG=1" in logs.read_text(), \
            f"{logs}: the CLI's automatic log directory is back (re-run scripts/setup_engine.sh)"
    else:
        home = Path(engine.env.get("PULUMI_HOME") or Path.home() / ".pulumi")
        assert not (home / "logs").is_file(), "set-up must not touch the log settings of an installed CLI"


@pytest.mark.parametrize("stack", STACKS)
def test_up_in_render_mode_writes_the_offline_render_and_a_second_up_changes_nothing(providers, stack):
    providers.stack(stack)
    providers.run("preview")
    providers.run("up", "--yes", "--skip-preview")
    written = _rendered_by_provider(providers.project / "build" / "pulumi-render" / stack)
    key = lambda item: (item["kind"], item["metadata"].get("namespace", ""), item["metadata"]["name"])  # noqa: E731
    engine_objects = {key(item): _normalise(item) for item in written}
    offline_objects = {key(item): _normalise(item) for item in render_stack(stack).manifests}
    assert set(engine_objects) == set(offline_objects)
    for object_key, manifest in offline_objects.items():
        assert engine_objects[object_key] == manifest, object_key
    summary = _preview(providers)["changeSummary"]
    assert set(summary) == {"same"}, summary


def test_rendered_secrets_hold_no_values(providers):
    providers.stack("staging")
    providers.run("up", "--yes", "--skip-preview")
    secrets = [item for item in _rendered_by_provider(providers.project / "build" / "pulumi-render" / "staging")
               if item["kind"] == "Secret"]
    assert secrets
    for secret in secrets:
        values = {**secret.get("data", {}), **secret.get("stringData", {})}
        assert values and set(values.values()) == {REDACTED}, secret["metadata"]["name"]


def test_blue_green_switch_previews_only_the_selectors(providers):
    providers.stack("development")
    providers.run("config", "set", "--path", "services.payment-service.blueGreen.green.tag", "1.1.0")
    providers.run("up", "--yes", "--skip-preview")
    providers.run("config", "set", "--path", "services.payment-service.blueGreen.active", "green")
    assert _preview_changes(providers) == {
        "payment-service-service": ("update", ["spec.selector.version"]),
        "payment-service-preview-service": ("update", ["spec.selector.version"])}


def test_canary_step_then_promotion(providers):
    providers.stack("development")
    # A stable floor of 3, so the canary's pods follow the weight: ceil(3 x 10%) = 1, ceil(3 x 50%) = 2. A ceiling
    # of 5 keeps micropay-core's peak within development's 40 CPU of limits now that each pod's istio-proxy counts
    # (2.5 CPU a pod: 5 + 2 stable, 3 + 2 canary at 100 %, 2 + 2 for config-server and eureka-server = 16 pods).
    providers.run("config", "set", "--path", "services.api-gateway.autoscaling.minReplicas", "3")
    providers.run("config", "set", "--path", "services.api-gateway.autoscaling.maxReplicas", "5")
    providers.run("config", "set", "--path", "services.api-gateway.canary.tag", "1.1.0")
    providers.run("config", "set", "--path", "services.api-gateway.canary.weight", "10")
    providers.run("up", "--yes", "--skip-preview")
    providers.run("config", "set", "--path", "services.api-gateway.canary.weight", "50")
    assert _preview_changes(providers) == {
        "api-gateway-virtual-service": ("update", ["spec.http[1].route[0].weight", "spec.http[1].route[1].weight"]),
        "api-gateway-deployment-canary": ("update", ["spec.replicas"])}
    providers.run("up", "--yes", "--skip-preview")
    providers.run("config", "set", "--path", "services.api-gateway.tag", "1.1.0")
    providers.run("config", "set", "--path", "services.api-gateway.canary.weight", "0")
    providers.run("config", "rm", "--path", "services.api-gateway.canary.tag")
    # Promotion: the canary Deployment goes, the stable one takes its image (and version label),
    # and the canary's routes leave the VirtualService; both DestinationRule subsets stay declared, and
    # the monitoring of both tracks stays (it follows the strategy, not what runs).
    assert _preview_changes(providers) == {
        "api-gateway-deployment-canary": ("delete", []),
        "api-gateway-deployment-stable": ("update", [
            'metadata.labels["app.kubernetes.io/version"]',
            'spec.template.metadata.labels["app.kubernetes.io/version"]',
            "spec.template.spec.containers[0].image"]),
        "api-gateway-virtual-service": ("update", [
            "spec.http[0].match", "spec.http[0].name", "spec.http[0].route[0].destination.subset", "spec.http[1]"])}


def test_protected_state_refuses_destroy_and_is_retained_on_delete(providers):
    providers.stack("development")
    providers.run("config", "set", "--path", "platform.protectState", "true")
    providers.run("up", "--yes", "--skip-preview")
    protected = [resource for resource in json.loads(providers.run("stack", "export").stdout)["deployment"]["resources"]
                 if resource.get("protect")]
    assert protected and all(resource.get("retainOnDelete") for resource in protected)
    directory = providers.project / "build" / "pulumi-render" / "development"
    before = {(item["kind"], item["metadata"]["name"]) for item in _rendered_by_provider(directory)}
    # `make remove` (destroy, then stack rm) stops at the preview: nothing at all is deleted.
    refused = subprocess.run(["scripts/pulumi_stack.sh", "development", "remove"], cwd=providers.project,
                             env=providers.env, capture_output=True, text=True, timeout=600)
    assert refused.returncode != 0
    assert "protected" in refused.stdout + refused.stderr
    assert {(item["kind"], item["metadata"]["name"]) for item in _rendered_by_provider(directory)} == before
    kept = {(resource["outputs"]["kind"], resource["outputs"]["metadata"]["name"]) for resource in protected}
    providers.run("state", "unprotect", "--all", "--yes")
    providers.run("destroy", "--yes", "--skip-preview")
    left = {(item["kind"], item["metadata"]["name"]) for item in _rendered_by_provider(directory)}
    assert left == kept


def _secret_values(node) -> set[str]:
    """Plain-text values of every secret in a `stack export --show-secrets` document."""
    values: set[str] = set()
    if isinstance(node, dict):
        if node.get(SECRET_SIGNATURE_KEY) == SECRET_SIGNATURE and "plaintext" in node:
            plain = json.loads(node["plaintext"])
            found = plain.values() if isinstance(plain, dict) else [plain]
            values |= {value for value in found if isinstance(value, str) and len(value) >= 8}
        for item in node.values():
            values |= _secret_values(item)
    elif isinstance(node, list):
        for item in node:
            values |= _secret_values(item)
    return values


@pytest.mark.parametrize(("stack", "provides_secrets"), [("staging", False), ("planning-production", True)])
def test_stack_export_holds_no_plain_text_secret(providers, stack, provides_secrets):
    """staging: generated passwords; planning-production: provided secrets (config --secret) too."""
    providers.stack(stack)
    providers.run("up", "--yes", "--skip-preview")
    revealed = _secret_values(json.loads(providers.run("stack", "export", "--show-secrets").stdout))
    provided = {entry["value"] for entry in json.loads(providers.run("config", "--json", "--show-secrets").stdout).values()
                if entry.get("secret")}
    assert revealed, "no secret in the state: the check below would prove nothing"
    assert bool(provided) == provides_secrets
    assert provided <= revealed
    exported = providers.run("stack", "export").stdout
    assert [value for value in revealed | provided if value in exported] == []


def test_the_engine_benchmark_section_runs():
    """`make bench`'s engine section (tiny sizes): every preview succeeds and every figure is computed."""
    from benchmarks.run import engine_section

    # Sizes far enough apart that the added resources outweigh the timing noise of a shared machine.
    lines, seconds = engine_section((2, 30), 1)
    text = "\n".join(lines)
    for stack in ("production", "synthetic-2", "synthetic-30"):
        assert f"| {stack} |" in text and seconds[stack] > 0
    assert "Per added resource" in text and seconds["ratio:marginal"] > 0
