"""The documentation is generated from, or checked against, the code."""

from conftest import ROOT, STACKS


def test_config_reference_is_current():
    from tools.config_reference import main

    assert main(["--check"]) == 0, "run `python -m tools.config_reference`"


def test_readme_lists_every_stack_and_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    for stack in STACKS:
        assert f"`{stack}`" in readme, stack
    assert "make up STACK=development" in readme and "make test" in readme


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_config_reference_prints_what_each_non_obvious_key_means():
    from platform_config.models import NamespaceSpec, PlatformSettings, ServiceSpec
    from tools.config_reference import OUTPUT, rows

    text = OUTPUT.read_text()
    meanings = {key: meaning for model in (ServiceSpec, NamespaceSpec, PlatformSettings)
                for key, _, _, meaning in rows(model)}
    for key in ("servicePort", "configEnv", "callers", "dependencies", "writablePaths", "scannerExceptions",
                "canary.steps", "canary.overrides", "acceptReleaseAboveQuota", "holdsState", "protectState",
                "dnsNamespace"):
        assert meanings[key], f"{key} has no Field(description=...)"
    for key, meaning in meanings.items():
        if meaning:
            assert f"| `{key}` |" in text and f"| {meaning} |" in text, key
