"""The model follower: latest per alias, no-op for what is served, refusals never offered."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pytest
from confluent_kafka import KafkaError
from prometheus_client import CollectorRegistry

from common.contracts.models import Announcement, encode_announcement
from consumer.models import ModelFollower, ModelMetrics, ModelSlot
from model.exceptions import ArtifactIntegrityError


@dataclass
class Msg:
    _key: bytes | None
    _value: bytes | None
    _offset: int = 0
    _error: Any = None

    def key(self) -> bytes | None:
        return self._key

    def value(self) -> bytes | None:
        return self._value

    def offset(self) -> int:
        return self._offset

    def error(self) -> Any:
        return self._error


class Err:
    def __init__(self, code: int) -> None:
        self._code = code

    def code(self) -> int:
        return self._code

    def str(self) -> str:
        return f"error {self._code}"


def sha(n: int) -> str:
    return f"{n:064x}"


def announce(alias: str, n: int, *, offset: int = 0) -> Msg:
    key, value = encode_announcement(Announcement(
        alias, f"v{n:04d}", sha(n), f"/registry/versions/v{n:04d}", f"reason {n}", 1_000 + n,
    ))
    return Msg(key, value, offset)


class Loader:
    def __init__(self, refuse: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.loaded: list[str] = []
        self.refuse = refuse

    def __call__(self, news: Announcement) -> Any:
        self.loaded.append(news.version)
        if news.version in self.refuse:
            raise ArtifactIntegrityError(f"{news.version} was tampered with")
        return f"model {news.version}"


def make(loader: Loader, champion: str | None = None):
    registry = CollectorRegistry()
    slot = ModelSlot()
    follower = ModelFollower(consumer=None, topic="models", slot=slot,
                             metrics=ModelMetrics(registry), champion=champion, loader=loader)
    return follower, slot, registry.get_sample_value


def test_only_the_latest_announcement_per_alias_is_loaded() -> None:
    loader = Loader()
    follower, slot, _ = make(loader)
    follower.handle([announce("champion", 2), announce("challenger", 3), announce("champion", 4)])
    assert loader.loaded == ["v0004", "v0003"]
    offers = slot.take()
    assert [(o.alias, o.model) for o in offers] == [
        ("champion", "model v0004"), ("challenger", "model v0003")
    ]
    assert offers[0].announcement is not None and offers[0].announcement.reason == "reason 4"
    assert slot.take() == [] and not slot.waiting


def test_what_is_served_already_is_not_loaded_again() -> None:
    loader = Loader()
    follower, slot, _ = make(loader, champion=sha(2))  # the startup model has v0002's bytes
    follower.handle([announce("champion", 2)])
    assert loader.loaded == [] and not slot.waiting
    follower.handle([announce("champion", 5)])
    follower.handle([announce("champion", 5)])  # re-read after a restart of the reader
    assert loader.loaded == ["v0005"]


def test_a_refused_version_is_counted_and_never_offered(caplog: pytest.LogCaptureFixture) -> None:
    loader = Loader(refuse={"v0007"})
    follower, slot, value = make(loader, champion=sha(2))
    with caplog.at_level(logging.ERROR):
        follower.handle([announce("champion", 7)])
    assert not slot.waiting
    assert value("diamond_model_refused_total", {"reason": "verification"}) == 1
    assert "REFUSED champion v0007" in caplog.text
    assert follower.serving["champion"] == sha(2)  # still serving the startup model
    follower.handle([announce("champion", 8)])  # a good one later is taken
    assert [o.model for o in slot.take()] == ["model v0008"]


def test_a_load_failure_is_counted_apart() -> None:
    def broken(news: Announcement) -> Any:
        raise OSError("no such directory")

    registry = CollectorRegistry()
    follower = ModelFollower(consumer=None, topic="models", slot=ModelSlot(),
                             metrics=ModelMetrics(registry), champion=None, loader=broken)
    follower.handle([announce("champion", 3)])
    assert registry.get_sample_value("diamond_model_refused_total", {"reason": "load"}) == 1


def test_withdrawal_offers_none_once() -> None:
    loader = Loader()
    follower, slot, _ = make(loader)
    follower.handle([Msg(b"challenger", None)])  # nothing to withdraw
    assert not slot.waiting
    follower.handle([announce("challenger", 3)])
    slot.take()
    follower.handle([Msg(b"challenger", None)])
    assert [(o.alias, o.model) for o in slot.take()] == [("challenger", None)]


def test_bad_records_and_errors_are_skipped() -> None:
    loader = Loader()
    follower, slot, value = make(loader)
    follower.handle([
        Msg(b"staging", b"{}"), Msg(b"champion", b"not json"),
        Msg(None, None, _error=Err(KafkaError._PARTITION_EOF)),
        Msg(None, None, _error=Err(KafkaError.UNKNOWN_TOPIC_OR_PART)),
        announce("champion", 9),
    ])
    assert value("diamond_model_refused_total", {"reason": "invalid_announcement"}) == 2
    assert [o.model for o in slot.take()] == ["model v0009"]


def test_load_announced_pins_both_files(monkeypatch: pytest.MonkeyPatch) -> None:
    import model.artifact
    from consumer.models.follower import load_announced

    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(model.artifact, "load_artifact",
                        lambda path, **kw: calls.append((path, kw)) or "loaded")
    news = Announcement("champion", "v0002", sha(2), "/r/v0002", "", 0, sha(3))
    assert load_announced(news) == "loaded"
    assert str(calls[0][0]) == "/r/v0002"
    assert calls[0][1] == {"expected_sha256": sha(2), "expected_loss_sha256": sha(3)}
