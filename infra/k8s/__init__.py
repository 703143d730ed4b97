"""Kubernetes manifests (kustomize bases and overlays under this directory) and their tools.

A renderer for the small kustomize subset the manifests use, so that the tests need no
`kubectl` (`tests/unit/test_k8s.py` cross-checks it against `kubectl kustomize` when present),
an offline validator (Kubernetes' schemas from kubernetes-validate, the CRDs' from `crds/`),
the generator of the files derived from `infra/prometheus` and `infra/grafana`, and the
measured figures the manifests' probes, resources and autoscaling thresholds come from.

    python -m infra.k8s render infra/k8s/overlays/local    print the rendered objects
    python -m infra.k8s check                              render and validate every kustomization
    python -m infra.k8s generate [--check]                 write (or compare) the generated files

Errors::

    K8sError
    +-- RenderError     a kustomization outside the subset, or a missing file
    +-- SchemaError     no schema for an object's kind
"""

from infra.k8s.exceptions import K8sError, RenderError, SchemaError
from infra.k8s.generate import generated_files, stale_files, write_generated
from infra.k8s.kustomize import K8S_DIR, KUSTOMIZATIONS, render
from infra.k8s.validate import validate

__all__ = [
    "K8S_DIR",
    "KUSTOMIZATIONS",
    "K8sError",
    "RenderError",
    "SchemaError",
    "generated_files",
    "render",
    "stale_files",
    "validate",
    "write_generated",
]
