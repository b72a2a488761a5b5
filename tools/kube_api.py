"""A small Kubernetes API client (standard library only) for the local cluster and its tests.

It speaks HTTPS with a client certificate, maps ``apiVersion``/``kind`` to REST paths through the
API server's discovery documents, and applies objects with server-side apply. It is not a general
client: it knows what ``tools.cluster`` and ``tests/test_cluster.py`` need.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

APPLY_CONTENT_TYPE = "application/apply-patch+yaml"   # JSON is YAML: the body is sent as JSON
MERGE_PATCH_CONTENT_TYPE = "application/merge-patch+json"


class ApiError(RuntimeError):
    """A non-2xx answer: ``status`` is the HTTP code, ``body`` the decoded Status object (or text)."""

    def __init__(self, method: str, path: str, status: int, body: Any):
        self.status, self.body = status, body
        message = body.get("message") if isinstance(body, dict) else str(body)[:500]
        super().__init__(f"{method} {path}: HTTP {status}: {message}")

    @property
    def reason(self) -> str:
        return self.body.get("reason", "") if isinstance(self.body, dict) else ""


@dataclass(frozen=True)
class Resource:
    """Where objects of one kind live: ``/apis/{group}/{version}`` (or ``/api/v1``) + plural."""
    base: str
    plural: str
    namespaced: bool

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> str:
        parts = [self.base]
        if self.namespaced and namespace:
            parts += ["namespaces", namespace]
        parts.append(self.plural)
        if name:
            parts.append(name)
        if subresource:
            parts.append(subresource)
        return "/".join(parts)


@dataclass
class KubeClient:
    server: str
    ca_file: Path
    cert_file: Path
    key_file: Path
    timeout: float = 30.0
    _context: ssl.SSLContext | None = field(default=None, repr=False)
    _resources: dict[tuple[str, str], Resource] = field(default_factory=dict, repr=False)

    def context(self) -> ssl.SSLContext:
        if self._context is None:
            context = ssl.create_default_context(cafile=str(self.ca_file))
            context.load_cert_chain(str(self.cert_file), str(self.key_file))
            self._context = context
        return self._context

    def request(self, method: str, path: str, body: Any = None, *, content_type: str = "application/json",
                params: dict[str, str] | None = None, timeout: float | None = None) -> Any:
        """One API call; the decoded JSON answer, or :class:`ApiError`."""
        url = self.server + path + ("?" + urllib.parse.urlencode(params) if params else "")
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, context=self.context(), timeout=timeout or self.timeout) as answer:
                raw = answer.read()
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                decoded: Any = json.loads(raw)
            except ValueError:
                decoded = raw.decode(errors="replace")
            raise ApiError(method, path, error.code, decoded) from None
        return json.loads(raw) if raw.strip().startswith((b"{", b"[")) else raw.decode()

    # --- discovery ----------------------------------------------------------------------------

    def resource(self, api_version: str, kind: str) -> Resource:
        """The REST location of ``kind`` in ``api_version``, from discovery (cached per group/version)."""
        key = (api_version, kind)
        if key not in self._resources:
            base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            for item in self.request("GET", base)["resources"]:
                if "/" not in item["name"]:
                    self._resources[(api_version, item["kind"])] = Resource(base, item["name"], item["namespaced"])
            if key not in self._resources:
                raise KeyError(f"the API server serves no kind {kind} in {api_version}")
        return self._resources[key]

    def forget_discovery(self) -> None:
        """Drop cached discovery (after CRDs are installed)."""
        self._resources.clear()

    def object_path(self, obj: dict, subresource: str | None = None) -> str:
        meta = obj["metadata"]
        return self.resource(obj["apiVersion"], obj["kind"]).path(meta.get("namespace"), meta["name"], subresource)

    # --- verbs --------------------------------------------------------------------------------

    def apply(self, obj: dict, *, field_manager: str, force: bool = True, dry_run: bool = False,
              subresource: str | None = None) -> dict:
        """Server-side apply of ``obj`` (created if absent); the object as stored (or as it would be)."""
        params = {"fieldManager": field_manager, "force": str(force).lower(), "fieldValidation": "Strict"}
        if dry_run:
            params["dryRun"] = "All"
        return self.request("PATCH", self.object_path(obj, subresource), obj,
                            content_type=APPLY_CONTENT_TYPE, params=params)

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict:
        return self.request("GET", self.resource(api_version, kind).path(namespace, name))

    def get_or_none(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict | None:
        try:
            return self.get(api_version, kind, name, namespace)
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    def list(self, api_version: str, kind: str, namespace: str | None = None,
             label_selector: str | None = None, field_selector: str | None = None) -> list[dict]:
        params = {key: value for key, value in
                  (("labelSelector", label_selector), ("fieldSelector", field_selector)) if value}
        return self.request("GET", self.resource(api_version, kind).path(namespace), params=params or None)["items"]

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> None:
        try:
            self.request("DELETE", self.resource(api_version, kind).path(namespace, name))
        except ApiError as error:
            if error.status != 404:
                raise

    def merge_patch(self, path: str, patch: dict, *, field_manager: str) -> dict:
        return self.request("PATCH", path, patch, content_type=MERGE_PATCH_CONTENT_TYPE,
                            params={"fieldManager": field_manager})

    def scale(self, api_version: str, kind: str, name: str, namespace: str, replicas: int, *,
              field_manager: str) -> dict:
        """Set ``replicas`` through the scale subresource, as the HPA controller does."""
        return self.merge_patch(self.resource(api_version, kind).path(namespace, name, "scale"),
                                {"spec": {"replicas": replicas}}, field_manager=field_manager)

    def create(self, obj: dict, *, dry_run: bool = False) -> dict:
        meta = obj["metadata"]
        params = {"fieldValidation": "Strict", **({"dryRun": "All"} if dry_run else {})}
        return self.request("POST", self.resource(obj["apiVersion"], obj["kind"]).path(meta.get("namespace")),
                            obj, params=params)


def condition(obj: dict, kind: str) -> dict | None:
    """The status condition of type ``kind``, if any."""
    return next((item for item in obj.get("status", {}).get("conditions") or [] if item.get("type") == kind), None)


def is_true(obj: dict, kind: str) -> bool:
    found = condition(obj, kind)
    return bool(found and found.get("status") == "True")

