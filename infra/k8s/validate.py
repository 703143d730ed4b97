"""Validate rendered objects offline: Kubernetes kinds against kubernetes-validate's bundled
schemas (strict: an unknown field is an error), custom resources against the CRD schemas
vendored in `crds/` (made strict the same way, as `kubectl apply` with strict field validation
would refuse an unknown field).
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

from infra.k8s.exceptions import SchemaError

CRD_DIR = Path(__file__).resolve().parent / "crds"
# The cluster version the manifests target (kubectl v1.32 here; the schemas are offline).
KUBERNETES_VERSION = "1.32.0"


def validate(obj: dict[str, Any], *, version: str = KUBERNETES_VERSION) -> list[str]:
    """Every schema violation of one object (empty: valid). Raises SchemaError without a
    schema for its kind."""
    schema = crd_schemas().get((obj.get("apiVersion", ""), obj.get("kind", "")))
    if schema is not None:
        validator = jsonschema.Draft7Validator(schema)
        return [
            f"{'/'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
            for error in validator.iter_errors(obj)
        ]
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.SchemaNotFoundError as exc:
        raise SchemaError(
            f"no schema for {obj.get('apiVersion')} {obj.get('kind')}: vendored CRDs are "
            f"{sorted(crd_schemas())}"
        ) from exc
    except kubernetes_validate.ValidationError as exc:
        return [f"{'/'.join(str(p) for p in exc.absolute_path)}: {exc.message}"]
    return []


@functools.cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> strict JSON schema, from every CRD in crds/."""
    schemas = {}
    for path in sorted(CRD_DIR.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = _strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
            schemas[(f"{group}/{version['name']}", kind)] = schema
    return schemas


def _strict(schema: Any) -> Any:
    """Forbid unknown properties wherever the schema lists the known ones."""
    if isinstance(schema, dict):
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        for value in schema.values():
            _strict(value)
    elif isinstance(schema, list):
        for value in schema:
            _strict(value)
    return schema
