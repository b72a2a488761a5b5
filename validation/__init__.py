"""Validation gates for rendered Kubernetes objects (docs/validation.md).

``validation.schemas`` checks every object against a schema: built-in kinds against the
Kubernetes OpenAPI schemas that ``kubernetes-validate`` bundles (strict mode, oldest and newest
supported Kubernetes version), custom resources against kubeconform-style CRD JSON schemas.
"""
