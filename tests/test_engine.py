"""The program under the real Pulumi engine (CLI, language host, stack files, config, secrets).

These run when `make setup` has provided the engine. Those that also need the kubernetes and
random provider plugins run only where the plugins are installed; elsewhere they are skipped
with the reason the set-up recorded (see README "The Pulumi engine").
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from platform_config.stack import stack_file_config
from tools.render import dump, render_stack

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("MICROPAY_CACHE", Path.home() / ".cache" / "micropay-platform"))
PROJECT_FILES = ["Pulumi.yaml", "__main__.py", "platform_program.py", "requirements.txt"]
PROJECT_DIRS = ["platform_config", "specs", "components", "catalogs", "tools", "scripts"]
PASSPHRASE = "micropay-local"


def _pin(package: str) -> str:
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line.startswith(f"{package}=="):
            return line.split("==", 1)[1].strip()
    raise AssertionError(f"{package} is not pinned in requirements.txt")


def _engine_env(backend: Path) -> dict[str, str]:
    env = dict(os.environ)
    env_file = CACHE / "env.sh"
    if shutil.which("pulumi") is None:
        if not env_file.exists():
            pytest.skip("no Pulumi engine: run `make setup`")
        for line in env_file.read_text().splitlines():
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
        self.project.mkdir()
        for name in PROJECT_FILES + [path.name for path in ROOT.glob("Pulumi.*.yaml")]:
            shutil.copy(ROOT / name, self.project / name)
        for name in PROJECT_DIRS:
            shutil.copytree(ROOT / name, self.project / name, ignore=shutil.ignore_patterns("__pycache__"))
        (self.project / ".venv").symlink_to(ROOT / ".venv")
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


@pytest.fixture
def providers(engine) -> Engine:
    missing = [f"{name} v{_pin(f'pulumi-{name}')}" for name in ("kubernetes", "random")
               if not engine.has_plugin(name, _pin(f"pulumi-{name}"))]
    if missing:
        reasons = " ".join(path.read_text().strip() for path in (CACHE / "refused").glob("*provider*")
                           if path.is_file())
        pytest.skip(f"resource plugins not installed: {', '.join(missing)}. {reasons}")
    return engine


# --- with the engine alone ---------------------------------------------------------------------

def test_cli_matches_the_pinned_sdk(engine):
    version = engine.run("version").stdout.strip()
    assert version == f"v{_pin('pulumi')}"


def test_engine_reads_every_stack_file_as_the_renderer_does(engine):
    """Config namespaces, structured values and secrets: the engine and the renderer agree."""
    for stack_file in sorted(ROOT.glob("Pulumi.*.yaml")):
        stack = stack_file.name.removeprefix("Pulumi.").removesuffix(".yaml")
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


@pytest.mark.parametrize("stack", sorted(path.name.removeprefix("Pulumi.").removesuffix(".yaml")
                                         for path in ROOT.glob("Pulumi.*.yaml")))
def test_preview_then_up_in_render_mode_matches_the_offline_render(providers, stack):
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


def _preview_changes(engine: Engine) -> dict[str, str]:
    result = json.loads(engine.run("preview", "--json").stdout)
    return {step["urn"].rsplit("::", 1)[-1]: step["op"] for step in result.get("steps", [])
            if step["op"] not in ("same",)}


def test_blue_green_switch_previews_only_the_selectors(providers):
    providers.stack("development")
    providers.run("config", "set", "--path", "services.payment-service.blueGreen.green.tag", "1.1.0")
    providers.run("up", "--yes", "--skip-preview")
    providers.run("config", "set", "--path", "services.payment-service.blueGreen.active", "green")
    assert _preview_changes(providers) == {"payment-service-service": "update",
                                           "payment-service-preview-service": "update"}


def test_canary_step_previews_only_weights_and_canary_replicas(providers):
    providers.stack("development")
    providers.run("config", "set", "--path", "services.api-gateway.canary.tag", "1.1.0")
    providers.run("config", "set", "--path", "services.api-gateway.canary.weight", "10")
    providers.run("up", "--yes", "--skip-preview")
    providers.run("config", "set", "--path", "services.api-gateway.canary.weight", "50")
    changes = _preview_changes(providers)
    assert changes == {"api-gateway-virtual-service": "update", "api-gateway-deployment-canary": "update"} or \
        changes == {"api-gateway-virtual-service": "update"}, changes
    assert dump([])  # the renderer's YAML dumper stays importable from the engine tests
