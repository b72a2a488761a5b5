"""Gate 3: checkov over every rendered stack, one run for all of them (docs/validation.md).

checkov cannot share the project's virtualenv (it pins packaging<24; pulumi needs packaging>=26), so
the pin on the ``# checkov==X`` line of requirements.txt is installed into ``.venv-checkov`` on first
use (set ``$CHECKOV`` to use another checkov executable). ``.checkov.yaml`` holds the options and the
skipped checks with their reasons; a service's own accepted findings are `scannerExceptions` in its
catalog entry (checkov.io/skip annotations). Every other finding fails.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import venv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, STACKS, rendered_text
from tools.pins import pin

CONFIG = ROOT / ".checkov.yaml"
CHECKOV_VENV = ROOT / ".venv-checkov"

@dataclass
class Scan:
    summary: dict = field(default_factory=dict)
    failed: dict[str, list[dict]] = field(default_factory=dict)      # stack -> failed checks
    render_errors: dict[str, str] = field(default_factory=dict)
    command: list[str] = field(default_factory=list)


def checkov_requirement() -> str:
    return f"checkov=={pin('checkov', commented=True)}"


def checkov_executable() -> str:
    """$CHECKOV, else .venv-checkov/bin/checkov at the pinned version (installed on first use)."""
    if os.environ.get("CHECKOV"):
        return os.environ["CHECKOV"]
    requirement = checkov_requirement()
    executable = CHECKOV_VENV / "bin" / "checkov"
    stamp = CHECKOV_VENV / ".installed"
    if executable.exists() and stamp.exists() and stamp.read_text().strip() == requirement:
        return str(executable)
    venv.EnvBuilder(with_pip=True, clear=True).create(CHECKOV_VENV)
    (CHECKOV_VENV / ".gitignore").write_text("*\n")
    install = subprocess.run([str(CHECKOV_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet",
                              "--disable-pip-version-check", requirement],
                             capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, f"installing {requirement} into {CHECKOV_VENV} failed:\n{install.stderr[-3000:]}"
    stamp.write_text(requirement + "\n")
    return str(executable)


def parse_report(output: str) -> tuple[dict, list[dict]]:
    """checkov's JSON: one report (a dict) or one per framework (a list); empty when nothing was scanned."""
    data = json.loads(output) if output.strip() else {}
    reports = data if isinstance(data, list) else [data]
    summary: dict = Counter()
    failed: list[dict] = []
    for report in reports:
        for key, value in (report.get("summary") or {}).items():
            if isinstance(value, int):
                summary[key] += value
            else:
                summary[key] = value
        failed += (report.get("results") or {}).get("failed_checks") or []
    return dict(summary), failed


@pytest.fixture(scope="module")
def scan(tmp_path_factory) -> Scan:
    """Render every stack to <stack>.yaml and run checkov once over all of them."""
    directory = tmp_path_factory.mktemp("checkov")
    result = Scan()
    for stack in STACKS:
        try:
            (directory / f"{stack}.yaml").write_text(rendered_text(stack))
        except Exception as error:  # noqa: BLE001 - the stack's own tests report it; here it cannot be scanned
            result.render_errors[stack] = f"{type(error).__name__}: {error}"
    result.command = [checkov_executable(), "--config-file", str(CONFIG), "--directory", str(directory),
                      "--framework", "kubernetes", "--compact", "--quiet", "--output", "json", "--skip-download"]
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("BC_", "PRISMA_"))}
    run = subprocess.run(result.command, capture_output=True, text=True, timeout=600, cwd=directory,
                         env=environment)
    assert run.returncode in (0, 1), f"checkov failed ({run.returncode}):\n{run.stderr[-3000:]}"
    result.summary, failed = parse_report(run.stdout)
    for check in failed:
        result.failed.setdefault(Path(check["file_path"]).stem, []).append(check)
    print(f"\ncheckov {result.summary.get('checkov_version', '?')}: {result.summary.get('passed', 0)} passed, "
          f"{result.summary.get('failed', 0)} failed, {result.summary.get('skipped', 0)} skipped "
          f"({len(skipped_checks())} check IDs skipped by .checkov.yaml, the rest by reasoned "
          f"scannerExceptions in the catalogs), "
          f"{result.summary.get('resource_count', 0)} resources in {len(STACKS) - len(result.render_errors)} stacks")
    return result


def describe(check: dict) -> str:
    return f"{check['check_id']} {check['resource']}: {check['check_name']}"


@pytest.mark.parametrize("stack", STACKS)
def test_checkov_finds_nothing_unexpected(scan, stack):
    assert stack not in scan.render_errors, f"{stack} does not render: {scan.render_errors.get(stack)}"
    findings = scan.failed.get(stack, [])
    assert not findings, (f"checkov findings in {stack} (fix the program, or skip in .checkov.yaml with a "
                          f"reason if it cannot be fixed):\n" + "\n".join(map(describe, findings)))


def skipped_checks() -> dict[str, str]:
    """Skipped check ID -> the reason on its line in .checkov.yaml."""
    reasons = {}
    for line in CONFIG.read_text().splitlines():
        match = re.match(r"^\s*-\s*(CKV2?_[A-Z0-9]+_\d+)\s*(?:#\s*(.*))?$", line)
        if match:
            reasons[match.group(1)] = (match.group(2) or "").strip()
    return reasons


def test_checkov_config():
    config = yaml.safe_load(CONFIG.read_text())
    reasons = skipped_checks()
    assert set(config["skip-check"]) == set(reasons)
    assert all(len(reason) > 20 for reason in reasons.values()), f"every skip needs a reason: {reasons}"
    assert config["framework"] == ["kubernetes"]


def test_scan_covered_every_renderable_stack(scan):
    assert scan.summary.get("resource_count", 0) > 0
    assert scan.summary.get("parsing_errors", 0) == 0
    assert scan.summary.get("passed", 0) > 0


def test_checkov_pin():
    assert re.fullmatch(r"checkov==\d+\.\d+\.\d+", checkov_requirement())
