"""`make plan STACK=<stack> [FROM=<git ref>]`: the release plan of a stack, or what a change does.

    python -m tools.plan production                 # capacity and delivery state (also the stack output `plan`)
    python -m tools.plan production --from main     # the change from the stack as committed at `main`
    python -m tools.plan production --save before.json && … && python -m tools.plan production --from before.json

With ``--from <ref>`` the stack file and catalogs are read as they were at that ref (through
``git archive``) and evaluated with today's program, so only the configuration differs; with
``--from <file>.json`` the starting point is a plan saved earlier with ``--save``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

from platform_config.loader import ConfigError, load_platform_config
from platform_config.paths import PROJECT_ROOT
from platform_config.release_plan import (Plan, describe_change, plan_from_json, plan_text, plan_to_json,
                                          release_plan)
from platform_config.stack import stack_file_config


def plan_at(stack: str, root: Path = PROJECT_ROOT) -> Plan:
    settings, _, _ = stack_file_config(stack, root)
    return release_plan(load_platform_config(stack, settings, root))


def plan_at_ref(stack: str, ref: str) -> Plan:
    archive = subprocess.run(["git", "archive", "--format=tar", ref, f"Pulumi.{stack}.yaml", "catalogs"],
                             cwd=PROJECT_ROOT, capture_output=True, check=False)
    if archive.returncode != 0:
        raise SystemExit(f"plan: cannot read Pulumi.{stack}.yaml and catalogs/ at '{ref}': "
                         f"{archive.stderr.decode().strip()}")
    with tempfile.TemporaryDirectory(prefix="micropay-plan-") as directory:
        with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
            tar.extractall(directory, filter="data")
        return plan_at(stack, Path(directory))


def starting_point(stack: str, ref: str) -> Plan:
    saved = Path(ref)
    if saved.suffix == ".json" and saved.is_file():
        return plan_from_json(saved.read_text())
    return plan_at_ref(stack, ref)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.plan", description=__doc__.splitlines()[0])
    parser.add_argument("stack")
    parser.add_argument("--from", dest="ref", help="git ref whose stack config is the starting point, "
                                                   "or a plan saved with --save (a .json file)")
    parser.add_argument("--save", type=Path, help="also write the plan to this file, for a later --from")
    args = parser.parse_args(argv)
    try:
        after = plan_at(args.stack)
        if args.save:
            args.save.write_text(plan_to_json(after))
        text = describe_change(starting_point(args.stack, args.ref), after) if args.ref else plan_text(after)
    except (ConfigError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
