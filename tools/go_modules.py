"""The Go module steps of scripts/lib/go_build.sh that need a JSON reader (standard library only:
the set-up scripts run it with any python3, before the project's virtualenv exists).

    go mod download -json M@V | python3 -m tools.go_modules downloaded M@V REFUSED_FILE
        the module's extracted directory; else the reason on stderr, exit 1, and a refusal by
        the proxy (final) remembered in REFUSED_FILE
    go mod edit -json DIR/go.mod | python3 -m tools.go_modules go-mod MODULE VERSION NAME LOCALVER
        the go.mod of a throwaway main module that requires MODULE at VERSION with its replaces
    python3 -m tools.go_modules tidy-refusal M@V REFUSED_FILE < tidy.log
        exit 0 after remembering a refused dependency that stopped `go mod tidy`; 1 if none did
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

# Answers of the module proxy that will not change on asking again; a time-out or a network
# error is not remembered.
FINAL_ANSWERS = ("403 Forbidden", "404 Not Found", "410 Gone", "not available", "unknown revision",
                 "invalid version")


def is_final(reason: str) -> bool:
    return any(answer in reason for answer in FINAL_ANSWERS)


def remember(refused_file: Path, reason: str, context: str = "") -> None:
    refused_file.write_text(f"{reason}  ({context}asked {time.strftime('%Y-%m-%d %H:%M:%S')})\n")


def downloaded_dir(download_json: str, module_version: str, refused_file: Path) -> str:
    """The directory of a `go mod download -json` answer; ValueError naming the reason otherwise."""
    try:
        answer = json.loads(download_json)
    except ValueError:
        answer = {"Error": "go mod download printed no JSON: " + download_json.strip()[:500]}
    error = answer.get("Error") or ("" if answer.get("Dir") else "no Dir in go mod download output")
    if not error:
        return answer["Dir"]
    reason = " ".join(error.split())
    if is_final(reason):
        remember(refused_file, reason)
        raise ValueError(f"REFUSED {module_version}: {reason}")
    raise ValueError(f"FAILED {module_version}: {reason}")


def throwaway_go_mod(edit_json: str, module: str, version: str, name: str, local_version: str) -> str:
    """go.mod of a main module requiring ``module`` at ``version`` with the module's own replace lines
    (from `go mod edit -json`); a relative replace into the same repository becomes the proxy's
    release of that module at ``local_version``."""
    source = json.loads(edit_json)
    lines = [f"module micropay.local/go-build/{name}", ""]
    if source.get("Go"):
        lines.append(f"go {source['Go']}")
    lines += ["", f"require {module} {version}", ""]
    for replace in source.get("Replace") or []:
        old, new = replace["Old"], replace["New"]
        left = old["Path"] + (f" {old['Version']}" if old.get("Version") else "")
        if "FORBIDDEN_DEPENDENCY" in new["Path"]:
            continue  # a guard against importing a module, not a real replacement
        if new["Path"].startswith((".", "/")) and not new.get("Version"):
            right = f"{old['Path']} {local_version}"
            lines.append(f"// was: {left} => {new['Path']}")
        else:
            right = new["Path"] + (f" {new['Version']}" if new.get("Version") else "")
        lines.append(f"replace {left} => {right}")
    return "\n".join(lines) + "\n"


def tidy_refusal(tidy_log: str) -> str | None:
    """The first line of a `go mod tidy` log where the proxy refused a dependency, if any."""
    return next((" ".join(line.split()) for line in tidy_log.splitlines()
                 if "403 Forbidden" in line or "not available" in line), None)


def main(argv: list[str]) -> int:
    command, args = (argv[0], argv[1:]) if argv else ("", [])
    if command == "downloaded" and len(args) == 2:
        try:
            print(downloaded_dir(sys.stdin.read(), args[0], Path(args[1])))
        except ValueError as error:
            print(f"[go_build] {error}", file=sys.stderr)
            return 1
        return 0
    if command == "go-mod" and len(args) == 4:
        sys.stdout.write(throwaway_go_mod(sys.stdin.read(), *args))
        return 0
    if command == "tidy-refusal" and len(args) == 2:
        reason = tidy_refusal(sys.stdin.read())
        if reason is None:
            return 1
        remember(Path(args[1]), reason, f"dependency of {args[0]}, ")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
