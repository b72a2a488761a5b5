"""Provenance: every Kubernetes object names the component that made it.

A reader of a rendered object (or of `kubectl get -o yaml`) goes from
``micropay.io/component: MicroService/payment-service`` to the component class and, through the
README's "What builds what" table, to the spec builder and the config keys that shape it.

It is a resource transformation rather than a field each component sets, so it is set in one
place for every component, present and future, and a component cannot forget it.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

COMPONENT_ANNOTATION = "micropay.io/component"


def component_id(type_token: str, name: str) -> str:
    """`micropay:service:MicroService` + `payment-service` -> `MicroService/payment-service`."""
    return f"{type_token.rsplit(':', 1)[-1]}/{name}"


def annotate_component(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
    """Add the provenance annotation to a Kubernetes object made inside a component.

    Components themselves and objects without metadata (providers, random passwords) pass
    unchanged; the parent is the component whose constructor is running.
    """
    parent = args.opts.parent if args.opts else None
    metadata = args.props.get("metadata")
    if metadata is None or not isinstance(parent, pulumi.ComponentResource):
        return None
    if not isinstance(metadata, Mapping):
        raise TypeError(f"{args.type_} {args.name}: metadata must be a plain dict (as specs/ builds it) so that "
                        f"its provenance annotation can be added; got {type(metadata).__name__}")
    annotations = {**(metadata.get("annotations") or {}),
                   COMPONENT_ANNOTATION: component_id(parent.pulumi_resource_type, parent.pulumi_resource_name)}
    props = {**args.props, "metadata": {**metadata, "annotations": annotations}}
    return pulumi.ResourceTransformationResult(props, args.opts)


def with_provenance(opts: pulumi.ResourceOptions | None = None) -> pulumi.ResourceOptions:
    """`opts` for a top-level component: every object under it carries its provenance."""
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(transformations=[annotate_component]))
