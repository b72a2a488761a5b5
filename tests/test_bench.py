"""The benchmark script keeps working (a tiny run; `make bench` does the real one)."""

import tempfile
from pathlib import Path

import pytest

from benchmarks.run import ROOT, register_bare, run, synthetic_catalog, synthetic_settings, write_catalog
from tools.render import render_stack


def test_small_benchmark_run_produces_every_section():
    text = run(sizes=(3, 6), repeats=1, stacks=["example-service"], engine=False)
    assert "| example-service |" in text
    assert "| 3 |" in text and "| 6 |" in text
    assert "components ÷ bare" in text
    assert "production evaluation" not in text  # only measured when the production stack is in the run


def test_bare_registration_registers_every_object():
    manifests = render_stack("example-service").manifests
    assert register_bare(manifests) == len(manifests)


def test_synthetic_catalog_shape():
    catalog = synthetic_catalog(25)
    assert len(catalog["services"]) == 25
    assert len({service["namespace"] for service in catalog["services"].values()}) == 10


@pytest.mark.parametrize("services", [10, 100, 1000])
def test_synthetic_catalogs_pass_the_preflight_at_every_benchmarked_size(services):
    """The benchmark measures the program, not a refusal: its quotas must hold every size's peak."""
    from platform_program import load

    (ROOT / "build").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ROOT / "build") as scratch:
        config = load("synthetic", synthetic_settings(write_catalog(Path(scratch), services)), {})
    assert len(config.services) == services


def test_rendering_pauses_the_garbage_collector_only_while_registering(monkeypatch):
    import gc

    import platform_program
    from tools.render import render_stack as render

    states = []
    real_deploy = platform_program.deploy

    def recording_deploy(*args, **kwargs):
        states.append(gc.isenabled())
        return real_deploy(*args, **kwargs)

    monkeypatch.setattr(platform_program, "deploy", recording_deploy)
    render("example-service")
    assert states == [False]
    assert gc.isenabled() and gc.get_freeze_count() == 0
