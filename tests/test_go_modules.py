"""tools/go_modules.py: the JSON-reading steps of scripts/lib/go_build.sh, directly and through the library."""

import json
import os
import subprocess

import pytest

from conftest import ROOT
from tools.go_modules import downloaded_dir, throwaway_go_mod, tidy_refusal

REFUSAL = ("github.com/x/y@v1.0.0: reading https://proxy.golang.org/github.com/x/y/@v/v1.0.0.info: "
           "403 Forbidden\n\tserver response: This module version is not available.")


def test_a_download_answer_gives_the_module_directory(tmp_path):
    answer = json.dumps({"Path": "github.com/x/y", "Version": "v1.0.0", "Dir": "/cache/x/y@v1.0.0"})
    assert downloaded_dir(answer, "github.com/x/y@v1.0.0", tmp_path / "refused") == "/cache/x/y@v1.0.0"
    assert not (tmp_path / "refused").exists()


def test_a_refusal_by_the_proxy_is_remembered_and_a_transient_failure_is_not(tmp_path):
    refused = tmp_path / "refused"
    with pytest.raises(ValueError, match=r"^REFUSED github.com/x/y@v1.0.0: github.com/x/y@v1.0.0: reading .* "
                                         r"403 Forbidden server response: This module version is not available\.$"):
        downloaded_dir(json.dumps({"Error": REFUSAL}), "github.com/x/y@v1.0.0", refused)
    assert refused.read_text().startswith("github.com/x/y@v1.0.0: reading ")
    assert " 403 Forbidden server response: This module version is not available.  (asked 20" in refused.read_text()
    refused.unlink()
    with pytest.raises(ValueError, match=r"^FAILED m@v1: dial tcp: i/o timeout$"):
        downloaded_dir(json.dumps({"Error": "dial tcp:\n i/o timeout"}), "m@v1", refused)
    with pytest.raises(ValueError, match=r"^FAILED m@v1: go mod download printed no JSON: go: no network$"):
        downloaded_dir("go: no network\n", "m@v1", refused)
    with pytest.raises(ValueError, match=r"^FAILED m@v1: no Dir in go mod download output$"):
        downloaded_dir("{}", "m@v1", refused)
    assert not refused.exists()


def test_the_throwaway_module_requires_the_pin_and_keeps_the_module_s_replaces():
    edit = {"Module": {"Path": "k8s.io/kubernetes"}, "Go": "1.24.0", "Replace": [
        {"Old": {"Path": "k8s.io/api"}, "New": {"Path": "./staging/src/k8s.io/api"}},
        {"Old": {"Path": "github.com/a/b", "Version": "v1.2.0"}, "New": {"Path": "github.com/c/b", "Version": "v1.3.0"}},
        {"Old": {"Path": "github.com/d/e"}, "New": {"Path": "FORBIDDEN_DEPENDENCY"}},
    ]}
    assert throwaway_go_mod(json.dumps(edit), "k8s.io/kubernetes", "v1.34.1", "cluster", "v0.34.1") == (
        "module micropay.local/go-build/cluster\n"
        "\n"
        "go 1.24.0\n"
        "\n"
        "require k8s.io/kubernetes v1.34.1\n"
        "\n"
        "// was: k8s.io/api => ./staging/src/k8s.io/api\n"
        "replace k8s.io/api => k8s.io/api v0.34.1\n"
        "replace github.com/a/b v1.2.0 => github.com/c/b v1.3.0\n")
    assert throwaway_go_mod("{}", "m", "v1", "n", "v1") == "module micropay.local/go-build/n\n\n\nrequire m v1\n\n"


def test_a_dependency_refused_during_tidy_is_found():
    log = "go: downloading a v1\ngo:  b@v2: reading   https://proxy/b: 403 Forbidden\ngo: c: 403 Forbidden\n"
    assert tidy_refusal(log) == "go: b@v2: reading https://proxy/b: 403 Forbidden"
    assert tidy_refusal("go: downloading a v1\ngo: build constraints exclude all Go files\n") is None


def test_the_build_library_records_a_refusal_through_the_tool(tmp_path):
    """go_mod_download in scripts/lib/go_build.sh, with a `go` that answers as the proxy refusing."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "go").write_text("#!/bin/sh\n"
                                 'case "$1" in version) echo "go version go1.25 linux/amd64";;\n'
                                 f"  mod) printf '%s\\n' '{json.dumps({'Error': REFUSAL})}';;\nesac\n")
    (fake_bin / "go").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake_bin}:{os.environ['PATH']}", "MICROPAY_CACHE": str(tmp_path / "cache")}
    script = f'source "{ROOT}/scripts/lib/go_build.sh"; go_mod_download github.com/x/y@v1.0.0'
    run = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1, run.stderr
    assert "[go_build] REFUSED github.com/x/y@v1.0.0: " in run.stderr
    remembered = (tmp_path / "cache" / "refused" / "github.com_x_y_v1.0.0").read_text()
    assert "This module version is not available.  (asked 20" in remembered
    again = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 1 and "refused earlier (use --retry-refused to ask again)" in again.stderr
