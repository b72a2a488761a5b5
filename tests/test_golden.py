"""The committed golden renders (tests/golden/<stack>.yaml) match what the program renders now."""

import copy

import pytest

from conftest import STACKS, rendered, rendered_text
from tools.golden import GOLDEN_DIR, describe_drift, golden_path, read_golden, write_golden


def test_each_stack_renders_its_committed_objects(stack):
    # Same text, not just the same objects: a reviewer diffs the files line by line.
    if rendered_text(stack) != golden_path(stack).read_text():
        pytest.fail(describe_drift(stack, read_golden(stack), rendered(stack).manifests)
                    or f"stack {stack}: the same objects, written differently: regenerate with `make golden`",
                    pytrace=False)


def test_golden_files_read_back_to_the_rendered_objects(stack):
    # Literal blocks and libyaml's emitter change how text is written, never what it says.
    assert read_golden(stack) == rendered(stack).manifests


def test_multi_line_text_is_written_line_by_line():
    text = golden_path("example-service").read_text()
    assert "  example-service.json: |-\n    {\n      \"annotations\": {\n" in text


def test_golden_files_are_the_stacks_and_nothing_else():
    assert sorted(path.stem for path in GOLDEN_DIR.glob("*.yaml")) == STACKS


def test_drift_names_each_object_and_the_changed_lines():
    golden = rendered("development").manifests
    changed = copy.deepcopy(golden)
    deployment = next(item for item in changed if item["kind"] == "Deployment")
    deployment["spec"]["replicas"] = 97
    removed = next(item for item in changed if item["kind"] == "ConfigMap")
    changed.remove(removed)
    added = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "extra", "namespace": "ns"}}
    changed.append(added)
    text = describe_drift("development", golden, changed)
    meta = deployment["metadata"]
    assert f"  changed: Deployment {meta['namespace']}/{meta['name']}" in text.splitlines()
    assert "    +  replicas: 97" in text.splitlines()
    assert f"  removed: ConfigMap {removed['metadata']['namespace']}/{removed['metadata']['name']}" in text
    assert "  added: ConfigMap ns/extra" in text.splitlines()
    assert text.splitlines()[-1] == "if the change is intended, regenerate: `make golden` and commit tests/golden/"


def test_drift_in_order_only_is_still_drift():
    golden = rendered("development").manifests
    text = describe_drift("development", golden, list(reversed(golden)))
    assert "  the same objects in another order" in text.splitlines()


def test_regeneration_writes_each_stack_and_drops_files_of_removed_stacks(tmp_path):
    (tmp_path / "retired-stack.yaml").write_text("kind: Namespace\n")
    written = write_golden(["example-service"], tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["example-service.yaml"]
    assert [path.name for path in written] == ["example-service.yaml", "retired-stack.yaml"]
    assert (tmp_path / "example-service.yaml").read_text() == rendered_text("example-service")


def test_a_missing_golden_file_names_the_regenerate_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="make golden"):
        read_golden("development", tmp_path)
