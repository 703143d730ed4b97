"""`python -m model registry`: list, show, promote, rollback, and announcing what changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from common.contracts.models import MODELS_TOPIC, decode_announcement
from model import registry_cli
from model.__main__ import main
from model.artifact import PIPELINE_FILE
from model.registry import ModelRegistry
from tests.unit.common.kafka_fakes import FakeProducer
from tests.unit.model.registry_fakes import fake_artifact


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    registry = ModelRegistry(tmp_path / "registry")
    for payload in (b"one", b"two"):
        registry.register(fake_artifact(payload), source="train", reason="r")
    registry.promote("v0001", "first")
    return registry


def run(registry: ModelRegistry, *args: str) -> int:
    return main(["registry", *args, "--registry-dir", str(registry.root)])


def test_list_shows_versions_scores_and_aliases(
    registry: ModelRegistry, capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(registry, "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["version", "registered", "source", "model", "MAE", "aliases"]
    assert lines[1].split()[0] == "v0001" and lines[1].split()[-2:] == ["1.0", "champion"]
    assert lines[2].split()[0] == "v0002" and lines[2].split()[-1] == "-"
    (registry.path_of("v0002") / "registration.json").unlink()
    assert run(registry, "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[-1] == "champion"
    assert lines[2].startswith("v0002    unreadable:") and "registration.json" in lines[2]


def test_show_verifies_the_files(
    registry: ModelRegistry, capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(registry, "show", "v0002") == 0
    shown = orjson.loads(capsys.readouterr().out)
    assert shown["verified"] is True and shown["registration"]["source"] == "train"
    (registry.path_of("v0002") / PIPELINE_FILE).write_bytes(b"tampered")
    assert run(registry, "show", "v0002") == 0
    assert orjson.loads(capsys.readouterr().out)["verified"] is False


def test_promote_and_rollback_print_what_changed(
    registry: ModelRegistry, capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(registry, "promote", "v0002", "--reason", "better") == 0
    assert capsys.readouterr().out == "champion: v0001 -> v0002 (better)\n"
    assert run(registry, "rollback") == 0
    assert capsys.readouterr().out.startswith("champion: v0002 -> v0001 (by command")
    assert registry.alias("champion") == "v0001"


def test_errors_exit_1_with_the_reason(
    registry: ModelRegistry, capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(registry, "promote", "v0042") == 1
    assert "no version 'v0042'" in capsys.readouterr().err
    assert run(registry, "rollback") == 1
    assert "nothing to roll back to" in capsys.readouterr().err


def test_announce_publishes_the_changed_aliases(
    registry: ModelRegistry, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    producers: list[FakeProducer] = []

    def producer(config: dict[str, Any]) -> FakeProducer:
        assert config["bootstrap.servers"] == "kafka:9092"
        producers.append(FakeProducer())
        return producers[-1]

    monkeypatch.setattr(registry_cli, "Producer", producer)
    registry.set_alias("challenger", "v0002", "candidate")
    assert run(registry, "promote", "v0002", "--announce",
               "--bootstrap-servers", "kafka:9092") == 0
    assert capsys.readouterr().out.endswith(f"announced champion, challenger on {MODELS_TOPIC}\n")
    sent = [(p.topic, decode_announcement(p.key, p.value)) for p in producers[0].delivered]
    assert [topic for topic, _ in sent] == [MODELS_TOPIC, MODELS_TOPIC]
    champion, challenger = (decoded for _, decoded in sent)
    assert getattr(champion, "version", None) == "v0002"
    assert getattr(champion, "sha256", None) == registry.show("v0002").sha256
    assert getattr(champion, "loss_model_sha256", "?") is None  # this artifact has none
    assert type(challenger).__name__ == "Withdrawal"
