"""Announcing the registry's aliases on the models topic (`common.contracts.models`).

`announcement(registry, alias, reason)` builds the record an alias deserves now (None: the
alias is unset, so a tombstone); `publish(producer, topic, records)` produces and flushes them.
The retrainer and `python -m model registry ... --announce` both call these.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from common.contracts.models import Announcement, encode_announcement
from common.kafka import DeliveryReports, Record, produce_all
from model.artifact import LOSS_MODEL_FILE
from model.registry import ModelRegistry

FLUSH_TIMEOUT = 30.0


def announcement(registry: ModelRegistry, alias: str, reason: str) -> Announcement | None:
    """The announcement of `alias` as the registry has it; None when it is unset."""
    version = registry.alias(alias)
    if version is None:
        return None
    info = registry.show(version)
    return Announcement(
        alias=alias, version=version, sha256=info.sha256,
        location=str(info.directory.resolve()), reason=reason,
        announced_at=time.time_ns() // 1_000_000,
        # pinned as registered, so a reader keeps performance estimation on (None: no loss model)
        loss_model_sha256=info.registration.get("files", {}).get(LOSS_MODEL_FILE),
    )


def announcement_record(
    topic: str, alias: str, announced: Announcement | None
) -> Record:
    """The models-topic record: the announcement, or a tombstone for `alias`."""
    if announced is None:
        return Record(topic, alias.encode(), None)
    key, value = encode_announcement(announced)
    return Record(topic, key, value)


def publish(producer: Any, records: Iterable[Record], *, timeout: float = FLUSH_TIMEOUT) -> int:
    """Produce `records` and wait for their delivery; DeliveryFailedError if any failed."""
    reports = DeliveryReports()
    count = produce_all(producer, records, timeout=timeout, on_delivery=reports)
    reports.check(undelivered=producer.flush(timeout))
    return count
