"""Golden renders: every committed stack's rendered objects, committed beside the tests.

    python -m tools.golden                 # (make golden) rewrite tests/golden/<stack>.yaml for every stack
    python -m tools.golden production      # only the stacks named

A change to the program or to a stack file then shows in review as a diff of objects, and
tests/test_golden.py fails until the files are regenerated. The files are what ``make render``
writes (same order, Secret values redacted), so a reviewer reads the same text either way.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

import yaml

from platform_config.loader import ConfigError
from platform_config.paths import PROJECT_ROOT
from platform_config.stack import stack_names
from tools.render import diff_manifests, dump, object_key, render_stack

GOLDEN_DIR = PROJECT_ROOT / "tests" / "golden"
REGENERATE = "make golden"


def golden_path(stack: str, directory: Path = GOLDEN_DIR) -> Path:
    return directory / f"{stack}.yaml"


def read_golden(stack: str, directory: Path = GOLDEN_DIR) -> list[dict]:
    path = golden_path(stack, directory)
    if not path.is_file():
        raise FileNotFoundError(f"no golden render {path}: run `{REGENERATE}`")
    # libyaml's loader reads the large files ten times faster and to the same objects.
    return [document for document in yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader) if document is not None]


def describe_drift(stack: str, golden: list[dict], rendered: list[dict]) -> str:
    """What changed between the committed objects and a fresh render, object by object ('' when nothing):
    the objects added and removed, and a unified diff of each changed one."""
    if golden == rendered:
        return ""
    changes = diff_manifests(golden, rendered)
    lines = [f"stack {stack}: the rendered objects differ from {golden_path(stack).relative_to(PROJECT_ROOT)}"]
    for verb in ("added", "removed"):
        lines += [f"  {verb}: {kind} {namespace}/{name}" for kind, namespace, name in sorted(changes[verb])]
    old = {object_key(item): item for item in golden}
    new = {object_key(item): item for item in rendered}
    for key in sorted(changes["changed"]):
        kind, namespace, name = key
        lines.append(f"  changed: {kind} {namespace}/{name}")
        lines += ["    " + line.rstrip("\n") for line in difflib.unified_diff(
            dump([old[key]]).splitlines(), dump([new[key]]).splitlines(), "golden", "rendered", lineterm="", n=2)]
    if not any(changes.values()):
        lines.append("  the same objects in another order")
    lines.append(f"if the change is intended, regenerate: `{REGENERATE}` and commit tests/golden/")
    return "\n".join(lines)


def write_golden(stacks: list[str], directory: Path = GOLDEN_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for stack in stacks:
        path = golden_path(stack, directory)
        path.write_text(dump(render_stack(stack).manifests))
        written.append(path)
    # A golden file without a stack file would be checked against nothing: remove it with its stack.
    for stale in sorted(set(directory.glob("*.yaml")) - {golden_path(stack, directory) for stack in stack_names()}):
        stale.unlink()
        written.append(stale)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stacks", nargs="*", help="stacks to regenerate (default: every stack)")
    args = parser.parse_args(argv)
    known = stack_names()
    unknown = [stack for stack in args.stacks if stack not in known]
    if unknown:
        print(f"error: no stack {', '.join(unknown)}; stacks: {', '.join(known)}", file=sys.stderr)
        return 2
    try:
        written = write_golden(args.stacks or known)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path in written:
        state = "written" if path.exists() else "removed (no such stack)"
        print(f"{path.relative_to(PROJECT_ROOT)}: {state}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
