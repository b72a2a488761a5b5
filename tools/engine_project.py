"""A copy of the project in a scratch directory, for runs of the real engine that must not touch
the checkout's stacks or state (engine tests, the engine benchmark)."""

from __future__ import annotations

import shutil
from pathlib import Path

from platform_config.paths import PROJECT_ROOT as ROOT
from platform_config.stack import stack_names

PROJECT_FILES = ["Pulumi.yaml", "__main__.py", "platform_program.py", "requirements.txt"]
# policy: tools.render reads a resource as a Kubernetes object with the policy pack's reader, so the
# render CLI run in a copy (tests/test_config_files.py) needs it.
PROJECT_DIRS = ["platform_config", "specs", "components", "catalogs", "tools", "scripts", "policy"]


def copy_project(destination: Path) -> Path:
    """Program, stack files, catalogs and scripts under `destination`, with the checkout's virtualenv."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES + [f"Pulumi.{stack}.yaml" for stack in stack_names()]:
        shutil.copy(ROOT / name, destination / name)
    for name in PROJECT_DIRS:
        shutil.copytree(ROOT / name, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
    (destination / ".venv").symlink_to(ROOT / ".venv")
    return destination
