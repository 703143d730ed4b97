"""The model registry: numbered versions, atomic registration, aliases, rollback, verification."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from model.artifact import PIPELINE_FILE
from model.exceptions import ArtifactNotFoundError, RegistryError, VersionNotFoundError
from model.registry import (
    ALIASES_FILE,
    SWEEP_AFTER_S,
    ModelRegistry,
    is_registry,
    resolve_artifact_dir,
)
from model.settings import TrainSettings
from tests.unit.model.registry_fakes import fake_artifact

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(tmp_path / "registry")


def test_versions_are_numbered_in_order_with_their_registration(
    registry: ModelRegistry,
) -> None:
    first = registry.register(fake_artifact(b"one"), source="train", reason="first")
    second = registry.register(fake_artifact(b"two"), source="retrain", reason="drift",
                               parent=first, scores={"holdout_mae_candidate": 3.5})
    assert (first, second) == ("v0001", "v0002")
    assert registry.versions() == ["v0001", "v0002"]
    info = registry.show(second)
    assert info.registration["source"] == "retrain"
    assert info.registration["parent"] == "v0001"
    assert info.registration["scores"] == {"holdout_mae_candidate": 3.5}
    assert info.registration["files"][PIPELINE_FILE] == hashlib.sha256(b"two").hexdigest()
    assert info.sha256 == hashlib.sha256(b"two").hexdigest()
    assert registry.verify(second) == []


def test_unknown_version_and_alias_are_refused_with_the_valid_options(
    registry: ModelRegistry,
) -> None:
    registry.register(fake_artifact(b"one"), source="train", reason="r")
    with pytest.raises(VersionNotFoundError, match="registered: v0001"):
        registry.show("v0009")
    with pytest.raises(VersionNotFoundError):
        registry.promote("../x", "r")
    with pytest.raises(RegistryError, match="champion, challenger"):
        registry.set_alias("staging", "v0001", "r")


def test_promote_clears_the_challenger_and_rollback_walks_back_the_champions(
    registry: ModelRegistry,
) -> None:
    for payload in (b"1", b"2", b"3"):
        registry.register(fake_artifact(payload), source="train", reason="r")
    registry.promote("v0001", "first")
    registry.set_alias("challenger", "v0002", "candidate")
    changes = registry.promote("v0002", "won")
    assert [c.describe() for c in changes] == [
        "champion: v0001 -> v0002 (won)", "challenger: v0002 -> - (won)",
    ]
    assert registry.alias("challenger") is None
    registry.promote("v0003", "won again")
    assert registry.rollback("bad").describe() == "champion: v0003 -> v0002 (bad)"
    assert registry.rollback("worse").describe() == "champion: v0002 -> v0001 (worse)"
    assert registry.alias("champion") == "v0001"
    with pytest.raises(RegistryError, match="nothing to roll back"):
        registry.rollback("again")
    history = registry.aliases()["history"]
    assert [(h["action"], h["alias"], h["version"]) for h in history][-2:] == [
        ("rollback", "champion", "v0002"), ("rollback", "champion", "v0001"),
    ]


def test_promote_keeps_another_challenger(registry: ModelRegistry) -> None:
    for payload in (b"1", b"2"):
        registry.register(fake_artifact(payload), source="train", reason="r")
    registry.set_alias("challenger", "v0002", "candidate")
    assert len(registry.promote("v0001", "by hand")) == 1
    assert registry.alias("challenger") == "v0002"


def test_resolve_gives_the_alias_directory_and_leaves_an_old_layout_alone(
    registry: ModelRegistry, tmp_path: Path,
) -> None:
    plain = tmp_path / "model"
    plain.mkdir()
    assert not is_registry(plain)
    assert resolve_artifact_dir(plain) == plain
    registry.register(fake_artifact(b"1"), source="train", reason="r")
    assert is_registry(registry.root)
    with pytest.raises(ArtifactNotFoundError, match="has no champion"):
        resolve_artifact_dir(registry.root)
    registry.promote("v0001", "r")
    assert resolve_artifact_dir(registry.root) == registry.root / "versions" / "v0001"
    with pytest.raises(ArtifactNotFoundError, match="has no challenger"):
        resolve_artifact_dir(registry.root, "challenger")


def test_a_tampered_version_fails_verification(registry: ModelRegistry) -> None:
    version = registry.register(fake_artifact(b"model"), source="train", reason="r")
    (registry.path_of(version) / PIPELINE_FILE).write_bytes(b"evil")
    problems = registry.verify(version)
    assert any(p.startswith(f"{PIPELINE_FILE} has sha256") for p in problems)
    assert any("does not match the sha256 in" in p for p in problems)


def test_a_failed_writer_leaves_nothing(registry: ModelRegistry) -> None:
    def broken(directory: Path) -> dict[str, Any]:
        (directory / PIPELINE_FILE).write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        registry.register(broken, source="train", reason="r")
    assert registry.versions() == []
    assert list(registry.versions_dir.iterdir()) == []


KILLED_REGISTRATION = """
import os, signal, sys
from pathlib import Path
from model.registry import ModelRegistry

def write(directory):
    (directory / "model.joblib").write_bytes(b"half a model")
    os.kill(os.getpid(), signal.SIGKILL)  # killed midway: metadata never written

ModelRegistry(Path(sys.argv[1])).register(write, source="retrain", reason="killed")
"""


def test_a_registration_killed_midway_leaves_the_registry_consistent(
    registry: ModelRegistry,
) -> None:
    registry.register(fake_artifact(b"1"), source="train", reason="r")
    registry.promote("v0001", "r")
    done = subprocess.run(
        [sys.executable, "-c", KILLED_REGISTRATION, str(registry.root)], cwd=REPO,
        capture_output=True, timeout=60, check=False,
    )
    assert done.returncode == -9, done.stderr
    leftovers = [p for p in registry.versions_dir.iterdir() if p.name.startswith(".tmp-")]
    assert len(leftovers) == 1  # the killed registration, never renamed
    assert registry.versions() == ["v0001"]
    assert resolve_artifact_dir(registry.root) == registry.path_of("v0001")
    assert registry.register(fake_artifact(b"2"), source="train", reason="r") == "v0002"
    assert registry.verify("v0002") == []
    # once old enough, a leftover is swept by the next registration
    old = time.time() - SWEEP_AFTER_S - 10
    os.utime(leftovers[0], (old, old))
    registry.register(fake_artifact(b"3"), source="train", reason="r")
    assert not leftovers[0].exists()
    assert registry.versions() == ["v0001", "v0002", "v0003"]


def test_aliases_file_is_replaced_whole(registry: ModelRegistry) -> None:
    registry.register(fake_artifact(b"1"), source="train", reason="r")
    registry.promote("v0001", "r")
    assert json.loads((registry.root / ALIASES_FILE).read_text())["champion"] == "v0001"
    assert [p.name for p in registry.root.iterdir() if p.name.endswith(".tmp")] == []


def test_registry_dir_defaults_to_beside_the_output_and_registering_can_be_off(
    tmp_path: Path,
) -> None:
    settings = TrainSettings(output_dir=tmp_path / "model")
    assert settings.registry_path == tmp_path / "registry"
    assert TrainSettings(registry_dir=tmp_path / "r").registry_path == tmp_path / "r"
    assert TrainSettings(register_model=False).register_model is False
