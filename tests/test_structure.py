"""One home per helper: the project root, the import path and the stack list are each computed in one place."""

import re
import subprocess

from conftest import ROOT


def python_sources() -> dict[str, str]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split()
    return {name: (ROOT / name).read_text() for name in listed if (ROOT / name).is_file()}


def where(pattern: str) -> list[str]:
    return sorted(name for name, text in python_sources().items() if re.search(pattern, text))


def test_the_project_root_is_computed_once():
    # policy/__main__.py is started by the engine inside policy/, before the project can be imported.
    assert where(r"Path\(__file__\)\.resolve\(\)\.parent\.parent") == ["platform_config/paths.py", "policy/__main__.py"]


def test_only_the_policy_pack_edits_the_import_path():
    # Everything else runs as `python -m …` from the root, or under pytest with `pythonpath = .` (pytest.ini).
    assert where(r"sys\.path\.(insert|append)") == ["policy/__main__.py"]


def test_the_stack_list_is_read_in_one_place():
    assert where(r"""glob\(["']Pulumi\.\*\.yaml""") == ["platform_config/stack.py"]


def test_scripts_embed_no_python_programs():
    # Python the scripts need is a module under tools/ (tested), called with `python3 -m tools.<name>`.
    scripts = sorted((ROOT / "scripts").rglob("*.sh"))
    assert scripts
    embedded = [str(path.relative_to(ROOT)) for path in scripts
                if re.search(r"python3?\s+(-\s|-c\b)|<<-?\s*'?PY", path.read_text())]
    assert embedded == []
