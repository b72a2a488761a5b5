"""Entry point under the Pulumi engine: read the stack's config once, validate it, deploy."""

import os

import pulumi

from platform_config.loader import ConfigError
from platform_config.paths import PROJECT_ROOT
from platform_config.stack import runtime_config
from platform_program import deploy, drop_sdk_debug_messages, kubernetes_provider, load, pause_garbage_collection

stack = pulumi.get_stack()
try:
    settings, secrets, plain_secrets = runtime_config(stack)
    config = load(stack, settings, secrets, frozenset(plain_secrets))
except ConfigError as error:
    # RunError prints the message alone: a config mistake is not a crash, so no traceback.
    raise pulumi.RunError(str(error)) from None

pause_garbage_collection()
drop_sdk_debug_messages()
provider = kubernetes_provider(config, PROJECT_ROOT / "build" / "pulumi-render" / stack,
                               os.environ.get("KUBECONFIG"))
for key, value in deploy(config, secrets, pulumi.ResourceOptions(providers=[provider])).items():
    pulumi.export(key, value)
