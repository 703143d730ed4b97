"""The model registry: numbered, verified artifact versions and the aliases that point at them.

Pure files, no Kafka: a local directory or a shared volume::

    registry/
    ├── versions/
    │   ├── v0001/               what `model.artifact.save_artifact` writes, plus
    │   │   └── registration.json    registered_at, source, reason, parent, scores, files' sha256
    │   ├── v0002/
    │   └── .tmp-<uuid>/         a registration in progress (or killed): ignored, swept later
    ├── aliases.json             {"champion": "v0002", "challenger": "v0003", "history": [...]}
    └── .lock                    fcntl lock around registrations and alias updates

A registration is built in ``versions/.tmp-<uuid>/`` and renamed to the next free ``vNNNN``
(a rename is atomic; a directory that is not empty is never renamed over, so two registrars
cannot take the same number). A process killed midway leaves only a ``.tmp-`` directory,
which `versions()` and `resolve_artifact_dir` never see and `register` sweeps once it is
`SWEEP_AFTER_S` old. ``aliases.json`` is written to a temporary file, fsynced and
`os.replace`d over the old one, so a reader sees the old or the new aliases, never half.

`resolve_artifact_dir(path)` is what the consumer calls with its model path: a registry root
gives the champion's version directory, any other directory is returned unchanged (the old
layout, one artifact directory, keeps loading).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common.contracts.models import ALIASES
from model.artifact import (
    LOSS_MODEL_FILE,
    METADATA_FILE,
    PIPELINE_FILE,
    ModelArtifact,
    file_sha256,
    load_artifact,
    load_metadata,
)
from model.exceptions import ArtifactNotFoundError, RegistryError, VersionNotFoundError

log = logging.getLogger(__name__)

DEFAULT_REGISTRY_DIR = Path(__file__).resolve().parents[1] / "artifacts" / "registry"
VERSIONS_DIR = "versions"
ALIASES_FILE = "aliases.json"
LOCK_FILE = ".lock"
REGISTRATION_FILE = "registration.json"
TMP_PREFIX = ".tmp-"
SWEEP_AFTER_S = 3600.0  # a registration still unfinished after an hour was killed
MAX_HISTORY = 1000  # alias changes kept in aliases.json
_VERSION = re.compile(r"v([0-9]{4,})")


@dataclass(frozen=True)
class VersionInfo:
    """One registered version: its directory, registration record and artifact metadata."""

    version: str
    directory: Path
    registration: dict[str, Any]
    metadata: dict[str, Any]

    @property
    def sha256(self) -> str:
        return str(self.metadata["sha256"])


@dataclass(frozen=True)
class AliasChange:
    """What an alias update did (`previous` / `version` None: unset)."""

    alias: str
    previous: str | None
    version: str | None
    reason: str

    def describe(self) -> str:
        return f"{self.alias}: {self.previous or '-'} -> {self.version or '-'} ({self.reason})"


def is_registry(path: Path) -> bool:
    """Is `path` a registry root (rather than one artifact directory)?"""
    return (path / VERSIONS_DIR).is_dir() or (path / ALIASES_FILE).is_file()


def resolve_artifact_dir(path: Path, alias: str = "champion") -> Path:
    """The artifact directory to load: a registry's `alias` version, or `path` itself."""
    if not is_registry(path):
        return path
    version = ModelRegistry(path).alias(alias)
    if version is None:
        raise ArtifactNotFoundError(
            f"the registry at {path} has no {alias}: run `make train` (registers and promotes "
            "one) or `python -m model registry promote VERSION`"
        )
    return path / VERSIONS_DIR / version


class ModelRegistry:
    """The registry at `root` (created on the first registration)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.versions_dir = self.root / VERSIONS_DIR

    # -- reading ---------------------------------------------------------------------------
    def versions(self) -> list[str]:
        """Registered versions, oldest first (registrations in progress are not listed)."""
        if not self.versions_dir.is_dir():
            return []
        found = [p.name for p in self.versions_dir.iterdir()
                 if p.is_dir() and _VERSION.fullmatch(p.name)]
        return sorted(found, key=_number)

    def show(self, version: str) -> VersionInfo:
        directory = self.path_of(version)
        registration = _read_json(directory / REGISTRATION_FILE)
        return VersionInfo(version, directory, registration, load_metadata(directory))

    def path_of(self, version: str) -> Path:
        directory = self.versions_dir / version
        if not _VERSION.fullmatch(version) or not directory.is_dir():
            known = ", ".join(self.versions()) or "none"
            raise VersionNotFoundError(
                f"no version {version!r} in the registry at {self.root} (registered: {known})"
            )
        return directory

    def aliases(self) -> dict[str, Any]:
        """The parsed aliases.json (empty aliases and history when there is none yet)."""
        path = self.root / ALIASES_FILE
        if not path.is_file():
            return {"history": []}
        return _read_json(path)

    def alias(self, name: str) -> str | None:
        _check_alias(name)
        value = self.aliases().get(name)
        return value if isinstance(value, str) else None

    def load(self, version: str) -> ModelArtifact:
        """Load `version` verified: model.joblib and loss_model.joblib against the sha256s
        recorded at registration (and the metadata's)."""
        info = self.show(version)
        files = info.registration.get("files", {})
        return load_artifact(info.directory, expected_sha256=files.get(PIPELINE_FILE),
                             expected_loss_sha256=files.get(LOSS_MODEL_FILE))

    def verify(self, version: str) -> list[str]:
        """The problems found (empty: intact): each file's sha256 against the registration,
        model.joblib's against the metadata."""
        info = self.show(version)
        problems = []
        for name, expected in sorted(info.registration.get("files", {}).items()):
            path = info.directory / name
            if not path.is_file():
                problems.append(f"{name} is missing")
            elif (actual := file_sha256(path)) != expected:
                problems.append(f"{name} has sha256 {actual}, registered {expected}")
        if file_sha256(info.directory / PIPELINE_FILE) != info.sha256:
            problems.append(f"{PIPELINE_FILE} does not match the sha256 in {METADATA_FILE}")
        return problems

    # -- writing ---------------------------------------------------------------------------
    def register(
        self, write: Callable[[Path], Mapping[str, Any]], *, source: str, reason: str,
        parent: str | None = None, scores: Mapping[str, Any] | None = None,
    ) -> str:
        """Register a new version; returns its name.

        `write(directory)` writes the artifact into an empty directory (e.g. a call of
        `save_artifact`) and returns its metadata. The version appears whole or not at all."""
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        self._sweep()
        tmp = self.versions_dir / f"{TMP_PREFIX}{uuid.uuid4().hex}"
        tmp.mkdir()
        try:
            write(tmp)
            files = {p.name: file_sha256(p) for p in sorted(tmp.iterdir()) if p.is_file()}
            registration = {
                "registered_at": _now(), "source": source, "reason": reason,
                "parent": parent, "scores": dict(scores or {}), "files": files,
            }
            _write_json_atomic(tmp / REGISTRATION_FILE, registration)
            with self._locked():
                version = self._rename_to_next(tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        log.info("registered %s (%s: %s)", version, source, reason)
        return version

    def set_alias(self, name: str, version: str | None, reason: str) -> AliasChange:
        """Point `name` at `version` (None: unset it); recorded in the history."""
        _check_alias(name)
        if version is not None:
            self.path_of(version)
        with self._locked():
            aliases = self.aliases()
            change = AliasChange(name, aliases.get(name), version, reason)
            _apply(aliases, change, action="set")
            self._write_aliases(aliases)
        return change

    def promote(self, version: str, reason: str) -> list[AliasChange]:
        """champion := `version`; the challenger is unset when it was that version."""
        self.path_of(version)
        with self._locked():
            aliases = self.aliases()
            changes = [AliasChange("champion", aliases.get("champion"), version, reason)]
            _apply(aliases, changes[0], action="promote")
            if aliases.get("challenger") == version:
                changes.append(AliasChange("challenger", version, None, reason))
                _apply(aliases, changes[1], action="promote")
            self._write_aliases(aliases)
        return changes

    def rollback(self, reason: str) -> AliasChange:
        """champion := the champion before the current one (repeatable, down the history)."""
        with self._locked():
            aliases = self.aliases()
            chain = champion_chain(aliases.get("history", []))
            if len(chain) < 2:
                raise RegistryError(
                    f"nothing to roll back to in {self.root}: the champion history is "
                    f"{chain or 'empty'}"
                )
            change = AliasChange("champion", chain[-1], chain[-2], reason)
            _apply(aliases, change, action="rollback")
            self._write_aliases(aliases)
        return change

    # -- internals -------------------------------------------------------------------------
    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / LOCK_FILE).open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _rename_to_next(self, tmp: Path) -> str:
        versions = self.versions()
        number = _number(versions[-1]) + 1 if versions else 1
        while True:  # another host's registrar may have taken the number (a lock is per host)
            target = self.versions_dir / f"v{number:04d}"
            try:
                os.rename(tmp, target)  # fails on an existing, non-empty directory
            except OSError:
                if not target.exists():
                    raise
                number += 1
                continue
            _fsync_dir(self.versions_dir)
            return target.name

    def _write_aliases(self, aliases: dict[str, Any]) -> None:
        aliases["history"] = aliases.get("history", [])[-MAX_HISTORY:]
        _write_json_atomic(self.root / ALIASES_FILE, aliases)

    def _sweep(self) -> None:
        cutoff = time.time() - SWEEP_AFTER_S
        for path in self.versions_dir.glob(f"{TMP_PREFIX}*"):
            try:
                if path.stat().st_mtime < cutoff:
                    shutil.rmtree(path)
                    log.warning("swept %s: a registration that never finished", path.name)
            except OSError as exc:  # another registrar swept it first
                log.debug("could not sweep %s: %s", path, exc)


def copy_of(source: Path) -> Callable[[Path], Mapping[str, Any]]:
    """A `write` for `ModelRegistry.register` that copies the files of the artifact directory
    `source` (a model trained elsewhere: the demo's, a test's)."""
    def write(directory: Path) -> Mapping[str, Any]:
        for path in Path(source).iterdir():
            if path.is_file():
                (directory / path.name).write_bytes(path.read_bytes())
        return load_metadata(directory)

    return write


def champion_chain(history: list[dict[str, Any]]) -> list[str]:
    """The champions in order, as promotions push and rollbacks pop them."""
    chain: list[str] = []
    for entry in history:
        if entry.get("alias") != "champion":
            continue
        if entry.get("action") == "rollback" and chain:
            chain.pop()
        elif entry.get("version") is not None:
            chain.append(entry["version"])
    return chain


def _apply(aliases: dict[str, Any], change: AliasChange, *, action: str) -> None:
    if change.version is None:
        aliases.pop(change.alias, None)
    else:
        aliases[change.alias] = change.version
    aliases.setdefault("history", []).append({
        "at": _now(), "action": action, "alias": change.alias, "version": change.version,
        "previous": change.previous, "reason": change.reason,
    })


def _check_alias(name: str) -> None:
    if name not in ALIASES:
        raise RegistryError(f"alias must be one of {', '.join(ALIASES)}, got {name!r}")


def _number(version: str) -> int:
    return int(version[1:])


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise RegistryError(f"{path} is missing") from exc
    except json.JSONDecodeError as exc:
        raise RegistryError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise RegistryError(f"{path} must hold a JSON object, got {type(value).__name__}")
    return value


def _write_json_atomic(path: Path, value: Mapping[str, Any]) -> None:
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with tmp.open("w") as handle:
        handle.write(json.dumps(value, indent=2, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
