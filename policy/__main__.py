"""CrossGuard policy pack: the platform's policies (policy/rules.py) under the Pulumi engine.

    pulumi preview --stack production --policy-pack policy
    pulumi preview --stack staging --policy-pack policy --policy-pack-config policy/mandatory.json

Enforcement is mandatory when the stack's environment is production and advisory otherwise
(``rules.environment_from``: $MICROPAY_POLICY_ENVIRONMENT, else the stack config's
``platform.environment``, else the stack name). A ``--policy-pack-config`` file overrides it,
for every policy (``{"all": "mandatory"}``) or one at a time (``{"probes": "advisory"}``).

Single-object policies are resource policies (checked as each resource is registered);
cross-object ones are stack policies over every resource of the stack.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

# The repository root, so that the rules are `policy.rules` here as in the tests and tools (one module
# under one name, not a second copy imported as `rules`).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from policy import rules  # noqa: E402
from pulumi_policy import (EnforcementLevel, PolicyPack, ReportViolation, ResourceValidationArgs,  # noqa: E402
                           ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy)

PACK_NAME = "micropay-platform"


def plain(value):
    """Engine property values (read-only proxies that raise on unknowns) as plain dicts and lists, whole
    numbers as integers (the engine passes every number as a float). Values still unknown during a
    preview stay as the engine's placeholder strings."""
    if type(value).__module__.startswith("pulumi_policy"):
        value = value["__target"]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def enforcement_level(environment: str) -> EnforcementLevel:
    return EnforcementLevel.MANDATORY if rules.enforcement_for(environment) == rules.MANDATORY \
        else EnforcementLevel.ADVISORY


def resource_policy(policy: rules.Policy, environment: str) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        manifest = rules.manifest_from_resource(args.resource_type, plain(args.props))
        if manifest is None or manifest["kind"] not in policy.kinds:
            return
        for message in policy.check(manifest["kind"], manifest, rules.Context(environment)):
            report_violation(f"{rules.describe(manifest['kind'], manifest)}: {message}")

    return ResourceValidationPolicy(name=policy.name, description=policy.description, validate=validate)


def stack_policy(policy: rules.Policy, environment: str) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [(resource.urn, manifest) for resource in args.resources
                     if (manifest := rules.manifest_from_resource(resource.resource_type, plain(resource.props)))]
        context = rules.Context(environment, [manifest for _, manifest in resources])
        for urn, manifest in resources:
            if manifest["kind"] in policy.kinds:
                for message in policy.check(manifest["kind"], manifest, context):
                    report_violation(f"{rules.describe(manifest['kind'], manifest)}: {message}", urn)

    return StackValidationPolicy(name=policy.name, description=policy.description, validate=validate)


def policies(environment: str) -> list:
    return [(stack_policy if policy.cross_object else resource_policy)(policy, environment)
            for policy in rules.POLICIES]


def main() -> None:
    environment = rules.environment_from(os.environ)
    PolicyPack(name=PACK_NAME, enforcement_level=enforcement_level(environment), policies=policies(environment))


if __name__ == "__main__":
    main()
