"""The project's version pins, read from requirements.txt in one place.

    python3 -m tools.pins pulumi-kubernetes      # -> 4.23.0 (from the project root; exit 2 if not pinned)

``name==version`` lines are installed into the virtualenv; a commented ``# name==version`` line
pins a tool installed elsewhere (checkov, in its own virtualenv). The Go copies of these pins
(plugins/go.mod, the plugins' ``Upstream`` constants) are held to them by tests/test_pins.py.

Standard library only: the set-up scripts read the pins with any python3, before the project's
virtualenv exists.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from platform_config.paths import PROJECT_ROOT

REQUIREMENTS = PROJECT_ROOT / "requirements.txt"
_PIN = re.compile(r"^(?P<commented>#\s*)?(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*(?P<version>[0-9][0-9A-Za-z.+-]*)\s*$")


class PinError(LookupError):
    """A package without a pin."""


def _canonical(name: str) -> str:
    # pip's name normalisation: PyYAML, pyyaml and py_yaml are one package.
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path = REQUIREMENTS, commented: bool = False) -> dict[str, str]:
    """{package: version} of the installed pins, or with ``commented`` of the commented ones."""
    found = {}
    for line in path.read_text().splitlines():
        match = _PIN.match(line.strip())
        if match and bool(match["commented"]) == commented:
            found[_canonical(match["name"])] = match["version"]
    return found


def pin(package: str, path: Path = REQUIREMENTS, commented: bool = False) -> str:
    version = pins(path, commented).get(_canonical(package))
    if version is None:
        line = f"# {package}==<version>" if commented else f"{package}==<version>"
        raise PinError(f"{package} is not pinned in {path.name}: add a line `{line}`")
    return version


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python3 -m tools.pins PACKAGE", file=sys.stderr)
        return 2
    try:
        print(pin(argv[0]))
    except PinError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
