"""`ModelFollower`: read the models topic and offer every newly announced, verified model.

The topic is compacted and has one partition (`common.contracts.models`). The follower reads it
from the beginning with a consumer that is assigned the partition and never joins a group nor
commits, so every replica learns each alias's current version at start and every change after.
Loading and verifying (reading the pickle once, hashing it against the announcement's sha256 and
the metadata's, unpickling) and preparing (the scorer, the drift detectors of the new reference
profile: ~0.1 s) happen in this thread, never in the loop's: the loop only swaps in a model that
is ready (`consumer.models.switch`).

Of a burst of announcements only the latest per alias is loaded. An announcement of what is
already served (or offered) is a no-op, so the compacted record of the startup champion costs
nothing. A version that fails to load or verify is refused: logged, counted in
``diamond_model_refused_total{reason}``, never offered, and the serving model stays.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

from common.contracts.models import (
    Announcement,
    InvalidAnnouncement,
    Withdrawal,
    decode_announcement,
)
from consumer.models.metrics import ModelMetrics
from consumer.models.slot import ModelSlot, Offer
from consumer.ops.ratelimit import RateLimitedLog

log = logging.getLogger(__name__)

POLL_TIMEOUT = 0.5  # seconds: how soon the thread notices a stop
BATCH = 100  # announcements per consume(): a handful per day in practice

Loader = Callable[[Announcement], Any]
Prepare = Callable[[str, Any], Any]  # (alias, loaded model) -> what the switch will need


def load_announced(announcement: Announcement) -> Any:
    """The verified artifact an announcement names: its bytes must hash to the announced
    sha256 (the pin) and to the metadata's; the loss model likewise when the announcement pins
    it (else estimation is off for it). Raises model.exceptions.ArtifactError subclasses."""
    from model.artifact import load_artifact

    return load_artifact(Path(announcement.location), expected_sha256=announcement.sha256,
                         expected_loss_sha256=announcement.loss_model_sha256)


class ModelFollower:
    def __init__(
        self,
        *,
        consumer: Any,
        topic: str,
        slot: ModelSlot,
        metrics: ModelMetrics,
        champion: str | None,
        loader: Loader = load_announced,
        prepare: Prepare = lambda alias, model: None,
        poll_timeout: float = POLL_TIMEOUT,
    ) -> None:
        self.consumer = consumer
        self.topic = topic
        self.slot = slot
        self.metrics = metrics
        self.loader = loader
        self.prepare = prepare
        self.poll_timeout = poll_timeout
        # alias -> the sha256 of what it points at here (served or offered); None: nothing.
        # Compared by content: the same bytes under another version name are no change.
        self.serving: dict[str, str | None] = {"champion": champion, "challenger": None}
        self.refused: dict[str, str] = {}  # alias -> the last version refused
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._errors = RateLimitedLog(log)

    def start(self) -> ModelFollower:
        self.consumer.assign([TopicPartition(self.topic, 0, OFFSET_BEGINNING)])
        self._thread = threading.Thread(target=self._run, name="model-follower", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.consumer.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                messages = self.consumer.consume(BATCH, timeout=self.poll_timeout)
                self.handle(messages)
            except Exception:  # never let the follower die: the service keeps its model
                log.exception("model follower: reading %s failed; retrying", self.topic)
                self._stop.wait(self.poll_timeout)

    def handle(self, messages: list[Any]) -> list[Offer]:
        """Decode a batch of messages, load the latest announcement per alias; the offers."""
        latest: dict[str, Announcement | Withdrawal] = {}
        for msg in messages:
            error = msg.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    self._errors.log(logging.WARNING, str(error.code()),
                                     "model follower: %s: %s", self.topic, error.str())
                continue
            decoded = decode_announcement(msg.key(), msg.value())
            if isinstance(decoded, InvalidAnnouncement):
                self.metrics.refused.labels(reason="invalid_announcement").inc()
                log.error("model follower: ignoring %s@%s: %s", self.topic, msg.offset(),
                          decoded.error)
                continue
            latest[decoded.alias] = decoded
        offers = []
        for alias, news in latest.items():
            offer = self._consider(alias, news)
            if offer is not None:
                self.slot.offer(offer)
                offers.append(offer)
        return offers

    def _consider(self, alias: str, news: Announcement | Withdrawal) -> Offer | None:
        if isinstance(news, Withdrawal):
            if self.serving.get(alias) is None:
                return None
            self.serving[alias] = None
            log.info("model follower: %s withdrawn", alias)
            return Offer(alias, None, None, time.monotonic())
        if self.serving.get(alias) == news.sha256:
            return None
        started = time.perf_counter()
        try:
            model = self.loader(news)
            prepared = self.prepare(alias, model)
        except Exception as exc:
            self._refuse(alias, news, exc)
            return None
        self.metrics.load_seconds.observe(time.perf_counter() - started)
        self.serving[alias] = news.sha256
        log.info("model follower: %s %s (%s) loaded and verified in %.2f s: %s", alias,
                 news.version, getattr(model, "version", "?"), time.perf_counter() - started,
                 news.reason)
        return Offer(alias, model, news, time.monotonic(), prepared)

    def _refuse(self, alias: str, news: Announcement, exc: Exception) -> None:
        from model.exceptions import ArtifactIntegrityError

        reason = "verification" if isinstance(exc, ArtifactIntegrityError) else "load"
        self.metrics.refused.labels(reason=reason).inc()
        self.refused[alias] = news.version
        log.error(
            "model follower: REFUSED %s %s from %s (%s: %s); still serving %s", alias,
            news.version, news.location, type(exc).__name__, exc, self.serving.get(alias),
        )
