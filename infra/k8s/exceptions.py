"""Errors of the Kubernetes manifest tools (see the tree in `infra.k8s`)."""

from __future__ import annotations


class K8sError(Exception):
    """Root of every error raised by `infra.k8s`."""


class RenderError(K8sError):
    """A kustomization could not be rendered (missing file, or outside the supported subset)."""


class SchemaError(K8sError):
    """An object has no schema to be validated against (unknown kind or API version)."""
