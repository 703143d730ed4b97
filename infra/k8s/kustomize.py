"""Render a kustomization with the subset of kustomize these manifests use, in pure Python.

Supported (anything else raises `RenderError`, so the subset cannot drift silently):
`resources` (files and directories), `namespace`, `labels` (without `includeSelectors`),
`images` (`newName`, `newTag`, `digest`), `patches` (JSON 6902 operation lists, by `path` or
inline, with a `target` of kind / name / namespace), and `configMapGenerator` with `files` and
`literals` and the name hash suffix disabled. Transformers run in kustomize's order: patches,
namespace, labels, images. Like kustomize, a Namespace object takes the namespace's name.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from infra.k8s.exceptions import RenderError

K8S_DIR = Path(__file__).resolve().parent
# Every kustomization a user may apply, relative to K8S_DIR (the tests render each of them).
KUSTOMIZATIONS = (
    "base",
    "kafka",
    "producer",
    "monitoring",
    "autoscaling/keda",
    "autoscaling/hpa",
    "overlays/local",
    "overlays/external-kafka",
)
KNOWN_FIELDS = frozenset(
    {"apiVersion", "kind", "namespace", "labels", "resources", "images", "patches",
     "configMapGenerator", "generatorOptions"}
)
CLUSTER_SCOPED = frozenset(
    {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
     "PersistentVolume", "StorageClass", "PriorityClass", "APIService"}
)
TEMPLATE_PATHS = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Job": ("spec", "template"),
}

Obj = dict[str, Any]


def render(directory: Path | str) -> list[Obj]:
    """The objects `kubectl kustomize <directory>` would print (order aside)."""
    root = Path(directory).resolve()
    kustomization = _load_kustomization(root)
    unknown = set(kustomization) - KNOWN_FIELDS
    if unknown:
        raise RenderError(f"{root}: unsupported kustomization fields {sorted(unknown)}")
    objects: list[Obj] = []
    for entry in kustomization.get("resources") or []:
        objects.extend(_resource(root, entry))
    objects.extend(_config_maps(root, kustomization))
    for patch in kustomization.get("patches") or []:
        _apply_patch(root, patch, objects)
    if namespace := kustomization.get("namespace"):
        for obj in objects:
            _set_namespace(obj, namespace)
    for spec in kustomization.get("labels") or []:
        _add_labels(spec, objects)
    for image in kustomization.get("images") or []:
        for obj in objects:
            _set_image(obj, image)
    return objects


def _load_kustomization(root: Path) -> Obj:
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        if (root / name).is_file():
            loaded = yaml.safe_load((root / name).read_text())
            if not isinstance(loaded, dict):
                raise RenderError(f"{root / name} is not a mapping")
            return loaded
    raise RenderError(f"no kustomization file in {root}")


def _inside(root: Path, relative: str) -> Path:
    return (root / relative).resolve()


def _resource(root: Path, entry: str) -> list[Obj]:
    path = _inside(root, entry)
    if path.is_dir():
        return render(path)
    if not path.is_file():
        raise RenderError(f"{root}: resource {entry} does not exist")
    if not path.is_relative_to(root):
        raise RenderError(f"{root}: file {entry} is outside the kustomization (kustomize refuses)")
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _config_maps(root: Path, kustomization: Obj) -> Iterator[Obj]:
    defaults = kustomization.get("generatorOptions") or {}
    for spec in kustomization.get("configMapGenerator") or []:
        options = {**defaults, **(spec.get("options") or {})}
        if not options.get("disableNameSuffixHash"):
            raise RenderError(f"{root}: configMapGenerator {spec['name']} needs "
                              "disableNameSuffixHash (name hashes are outside the subset)")
        data: dict[str, str] = {}
        for item in spec.get("files") or []:
            key, _, source = item.rpartition("=") if "=" in item else ("", "", item)
            path = _inside(root, source)
            if not path.is_relative_to(root):
                raise RenderError(f"{root}: file {source} is outside the kustomization")
            data[key or path.name] = path.read_text()
        for literal in spec.get("literals") or []:
            key, _, value = literal.partition("=")
            data[key] = value
        metadata: Obj = {"name": spec["name"]}
        if options.get("labels"):
            metadata["labels"] = dict(options["labels"])
        if options.get("annotations"):
            metadata["annotations"] = dict(options["annotations"])
        yield {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}


def _apply_patch(root: Path, patch: Obj, objects: list[Obj]) -> None:
    if "path" in patch:
        text = _inside(root, patch["path"]).read_text()
    else:
        text = patch["patch"]
    operations = yaml.safe_load(text)
    if not isinstance(operations, list):
        raise RenderError(f"{root}: only JSON 6902 patches (a list of operations) are supported")
    target = patch.get("target") or {}
    unknown = set(target) - {"kind", "name", "namespace", "group", "version"}
    if unknown:
        raise RenderError(f"{root}: unsupported patch target fields {sorted(unknown)}")
    matched = [obj for obj in objects if _matches(obj, target)]
    if not matched:
        raise RenderError(f"{root}: patch target {target} matches no object")
    for obj in matched:
        for operation in operations:
            _json_patch(obj, operation)


def _matches(obj: Obj, target: Obj) -> bool:
    metadata = obj.get("metadata") or {}
    return (
        target.get("kind", obj.get("kind")) == obj.get("kind")
        and target.get("name", metadata.get("name")) == metadata.get("name")
        and target.get("namespace", metadata.get("namespace")) == metadata.get("namespace")
    )


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise RenderError(f"JSON pointer {path!r} must start with '/'")
    return [part.replace("~1", "/").replace("~0", "~") for part in path.split("/")[1:]]


def _json_patch(obj: Obj, operation: Obj) -> None:
    """RFC 6902 add / replace / remove on one object."""
    op = operation.get("op")
    *parents, last = _pointer(operation["path"])
    node: Any = obj
    for part in parents:
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError) as exc:
            raise RenderError(f"patch path {operation['path']} does not exist") from exc
    value = copy.deepcopy(operation.get("value"))
    if isinstance(node, list):
        index = len(node) if last == "-" else int(last)
        if op == "add":
            node.insert(index, value)
        elif op == "replace" and index < len(node):
            node[index] = value
        elif op == "remove" and index < len(node):
            del node[index]
        else:
            raise RenderError(f"patch {operation} does not apply")
    elif op == "add" or (op == "replace" and last in node):
        node[last] = value
    elif op == "remove" and last in node:
        del node[last]
    else:
        raise RenderError(f"patch {operation} does not apply (op or path)")


def _set_namespace(obj: Obj, namespace: str) -> None:
    metadata = obj.setdefault("metadata", {})
    if obj.get("kind") == "Namespace":
        metadata["name"] = namespace
    elif obj.get("kind") not in CLUSTER_SCOPED:
        metadata["namespace"] = namespace


def _add_labels(spec: Obj, objects: list[Obj]) -> None:
    if spec.get("includeSelectors"):
        raise RenderError("labels with includeSelectors are outside the subset")
    pairs = {str(k): str(v) for k, v in (spec.get("pairs") or {}).items()}
    for obj in objects:
        obj.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)
        path = TEMPLATE_PATHS.get(obj.get("kind", ""))
        if spec.get("includeTemplates") and path:
            template: Any = obj
            for part in path:
                template = template.setdefault(part, {})
            template.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)
            for claim in obj["spec"].get("volumeClaimTemplates") or []:
                claim.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)


def _set_image(obj: Obj, image: Obj) -> None:
    for container in _containers(obj):
        current = container.get("image", "")
        name = current.split("@", 1)[0]
        if ":" in name.rsplit("/", 1)[-1]:
            name = name.rsplit(":", 1)[0]
        if name != image["name"]:
            continue
        new = image.get("newName", name)
        if image.get("digest"):
            container["image"] = f"{new}@{image['digest']}"
        elif image.get("newTag"):
            container["image"] = f"{new}:{image['newTag']}"
        else:
            container["image"] = current.replace(name, new, 1)


def _containers(obj: Obj) -> Iterator[Obj]:
    """Every container and init container of a workload's pod template."""
    path = TEMPLATE_PATHS.get(obj.get("kind", ""))
    if not path:
        return
    pod: Any = obj
    for part in (*path, "spec"):
        pod = (pod or {}).get(part)
    for key in ("initContainers", "containers"):
        yield from (pod or {}).get(key) or []
