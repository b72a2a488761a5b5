"""BlueGreenPair: two colours of one service; a config value picks the one that serves.

Like Argo Rollouts: the stable Service (the service's own name) selects the active colour,
the preview Service (``<name>-preview``) the idle one while it runs (for smoke tests before a
switch), else the active one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.microservice import MicroService, MicroServiceArgs
from specs import service_objects as object_specs
from specs import workload as workload_specs
from specs.delivery import blue_green_plan, preview_colour
from specs.metadata import object_metadata


@dataclass(frozen=True)
class BlueGreenPairArgs:
    service: MicroServiceArgs


class BlueGreenPair(pulumi.ComponentResource):
    workload: MicroService
    active_colour: str
    images: dict[str, str | None]
    preview_service_name: str

    def __init__(self, name: str, args: BlueGreenPairArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("micropay:delivery:BlueGreenPair", name, None, opts)
        base = args.service
        spec, service = base.spec, name
        colours = spec.colours
        plan = blue_green_plan(service, spec)
        self.workload = MicroService(name, dataclasses.replace(base, plan=plan),
                                     opts=pulumi.ResourceOptions(parent=self))
        self.preview_service_name = preview_name = f"{service}-preview"
        self.active_colour = colours.active
        self.images = {colour: f"{spec.image}:{colours.colour(colour).tag}" if colours.colour(colour).tag else None
                       for colour in ("blue", "green")}
        k8s.core.v1.Service(
            f"{name}-preview-service",
            metadata=object_metadata(preview_name, spec.namespace,
                                     {**workload_specs.common_labels(service, spec), "role": "preview"}),
            spec=object_specs.service({"app": service, "version": preview_colour(spec)}, spec),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.workload]),
        )
        self.register_outputs(self.stack_outputs())

    def stack_outputs(self) -> dict[str, object]:
        """The workload's outputs and which colour serves."""
        return {**self.workload.stack_outputs(), "activeColour": self.active_colour, "images": self.images,
                "previewServiceName": self.preview_service_name}
