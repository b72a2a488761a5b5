"""The version pins: one reader (tools/pins.py) for Python and the set-up scripts, and the Go copies
of the pins held to it."""

import os
import re
import shutil
import subprocess

import pytest

from conftest import ROOT
from tools.pins import PinError, pin, pins


def test_installed_and_commented_pins_are_told_apart(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# a comment\npulumi==3.1.0\nPyYAML == 6.0.3  \nloose>=1\n# checkov==3.3.30\n")
    assert pins(requirements) == {"pulumi": "3.1.0", "pyyaml": "6.0.3"}
    assert pins(requirements, commented=True) == {"checkov": "3.3.30"}
    assert pin("pyYAML", requirements) == "6.0.3"
    with pytest.raises(PinError, match=r"^loose is not pinned in requirements.txt: add a line `loose==<version>`$"):
        pin("loose", requirements)
    with pytest.raises(PinError, match="add a line `# pulumi==<version>`"):
        pin("pulumi", requirements, commented=True)


def test_the_go_plugins_build_against_the_pinned_releases():
    go_mod = (ROOT / "plugins" / "go.mod").read_text()
    for module in ("github.com/pulumi/pulumi/pkg/v3", "github.com/pulumi/pulumi/sdk/v3"):
        assert re.search(rf"^\s*{re.escape(module)} v(\S+)$", go_mod, re.MULTILINE)[1] == pin("pulumi"), module
    for name in ("kubernetes", "random"):
        main = (ROOT / "plugins" / "cmd" / f"pulumi-resource-{name}" / "main.go").read_text()
        assert re.search(r'^const Upstream = "(.+)"$', main, re.MULTILINE)[1] == pin(f"pulumi-{name}"), name


def run_pins(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(["python3", "-m", "tools.pins", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60)


def test_scripts_read_a_pin_with_any_python():
    # The system python3 (no virtualenv): the set-up scripts call it before .venv exists.
    found = run_pins("pulumi-kubernetes")
    assert (found.returncode, found.stdout) == (0, f"{pin('pulumi-kubernetes')}\n")
    missing = run_pins("no-such-package")
    assert missing.returncode == 2
    assert missing.stderr == ("error: no-such-package is not pinned in requirements.txt: "
                              "add a line `no-such-package==<version>`\n")


def test_setup_engine_stops_on_a_missing_pin_before_building(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(ROOT / "scripts", project / "scripts")
    (project / "tools").mkdir()
    shutil.copy(ROOT / "tools" / "pins.py", project / "tools" / "pins.py")
    shutil.copytree(ROOT / "platform_config", project / "platform_config",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (project / "requirements.txt").write_text("pulumi-random==4.18.0\n")
    env = {**os.environ, "MICROPAY_CACHE": str(tmp_path / "cache")}
    for key in ("MICROPAY_PULUMI_VERSION", "MICROPAY_PULUMI_KUBERNETES_VERSION", "MICROPAY_PULUMI_RANDOM_VERSION"):
        env.pop(key, None)
    run = subprocess.run([str(project / "scripts" / "setup_engine.sh"), "--pulumi", "3.259.0"], cwd=project, env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1] == ("error: pulumi-kubernetes is not pinned in requirements.txt: "
                                                   "add a line `pulumi-kubernetes==<version>`")
    assert not (tmp_path / "cache" / "pulumi").exists()
