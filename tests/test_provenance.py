"""Provenance: every rendered object names its component, and the README's table of
kind -> component -> spec builder -> config keys matches the rendered stacks and the code."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import pytest
from conftest import ROOT, STACKS, objects

import components
from components.provenance import COMPONENT_ANNOTATION, component_id
from platform_config.models import PlatformConfig
from tools.config_reference import rows

TABLE_HEADER = "| kind | component | spec builder | config keys |"


def provenance_table() -> list[tuple[str, str, list[str], list[str]]]:
    lines = (ROOT / "README.md").read_text().splitlines()
    start = lines.index(TABLE_HEADER) + 2
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        kind, component, builders, keys = (cell.strip() for cell in line.strip("|").split("|"))
        table.append((kind, component.strip("`"), re.findall(r"`([^`]+)`", builders),
                      re.findall(r"`([^`]+)`", keys)))
    return table


def component_classes() -> dict[str, type]:
    found = {}
    for module_info in pkgutil.iter_modules(components.__path__):
        module = importlib.import_module(f"components.{module_info.name}")
        found.update({name: value for name, value in vars(module).items()
                      if inspect.isclass(value) and value.__module__ == module.__name__})
    return found


def resolve(dotted: str):
    parts = dotted.split(".")
    for split in range(len(parts) - 1, 0, -1):
        module_name, attribute_path = ".".join(parts[:split]), parts[split:]
        try:
            target = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        for attribute in attribute_path:
            target = getattr(target, attribute)
        return target
    raise AssertionError(f"README: spec builder `{dotted}` is not an importable name")


def test_component_id_names_type_and_resource():
    assert component_id("micropay:service:MicroService", "payment-service") == "MicroService/payment-service"


def test_every_object_names_the_component_that_made_it(stack):
    for manifest in objects(stack):
        metadata = manifest["metadata"]
        origin = (metadata.get("annotations") or {}).get(COMPONENT_ANNOTATION)
        assert origin, f"{stack}: {manifest['kind']} {metadata['name']} has no {COMPONENT_ANNOTATION} annotation"
        kind = manifest["kind"]
        if kind == "Namespace":
            assert origin == f"TenantNamespace/{metadata['name']}", (stack, metadata["name"])
        elif kind == "Deployment":
            assert origin == f"MicroService/{metadata['labels']['app']}", (stack, metadata["name"])


def test_the_table_lists_exactly_the_kinds_each_component_renders():
    rendered = {(manifest["kind"], manifest["metadata"]["annotations"][COMPONENT_ANNOTATION].split("/")[0])
                for stack in STACKS for manifest in objects(stack)}
    listed = [(kind, component) for kind, component, _, _ in provenance_table()]
    assert len(listed) == len(set(listed)), "README: a (kind, component) row appears twice"
    assert set(listed) == rendered, (f"README lists but no stack renders: {sorted(set(listed) - rendered)}; "
                                     f"rendered but not in the README: {sorted(rendered - set(listed))}")


@pytest.mark.parametrize("kind, component, builders, keys", provenance_table(),
                         ids=lambda value: value if isinstance(value, str) else None)
def test_each_row_names_a_builder_the_component_calls_and_real_config_keys(kind, component, builders, keys):
    classes = component_classes()
    assert component in classes, f"README row {kind}: no component class {component} in components/"
    source = inspect.getsource(inspect.getmodule(classes[component]))
    assert builders, f"README row {kind}/{component}: no spec builder"
    for builder in builders:
        assert callable(resolve(builder)), builder
        name = builder.rsplit(".", 1)[-1]
        assert re.search(rf"\.{re.escape(name)}\(", source), f"{component} never calls {builder} ({kind})"
    documented = {key.replace("&lt;", "<").replace("&gt;", ">") for key, *_ in rows(PlatformConfig)}
    assert keys, f"README row {kind}/{component}: no config keys"
    for key in keys:
        assert key in documented, f"README row {kind}/{component}: `{key}` is not a config key"
