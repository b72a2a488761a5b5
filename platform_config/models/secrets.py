"""Where each key of a service's Secrets gets its value (generated, provided, external or static).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import Model


SecretSource = Literal["generated", "provided", "external", "static"]


class SecretKey(Model):
    """Where one key of a Secret gets its value.

    ``static`` is for values that are not sensitive but belong in the Secret (a database user
    name); every other source keeps the value out of the stack files.
    """

    source: SecretSource | None = None
    length: int = Field(default=32, ge=16, le=256)
    special: bool = False
    config_key: str | None = None
    remote_property: str | None = None
    value: str | None = None
    env: str | None = None

    def stack_key(self, service: str, key_name: str) -> str:
        """The stack config key a provided value is read from (``pulumi config set --secret <it>``)."""
        return self.config_key or f"{service}-{key_name}".lower().replace("_", "-")


class SecretSpec(Model):
    name: str | None = None
    source: SecretSource | None = None
    keys: dict[str, SecretKey] = Field(min_length=1)
    remote_path: str | None = None

    def source_of(self, key: SecretKey, platform_default: str) -> str:
        return key.source or self.source or platform_default

    def secret_name(self, service: str) -> str:
        return self.name or f"{service}-secrets"
