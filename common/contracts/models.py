"""Model announcements: which registered version each alias points at, on a compacted topic.

The models topic (`MODELS_TOPIC`, one partition, ``cleanup.policy=compact``) keeps the latest
record per key, so a reader that starts from the beginning learns every alias's current version
without a consumer group. Key = the alias in UTF-8 (``champion`` or ``challenger``); value::

    {"alias": "champion", "version": "v0002",
     "sha256": "<64 hex>",                          sha256 of the version's model.joblib
     "location": "/registry/versions/v0002",         the version's artifact directory
     "reason": "challenger beat champion: ...",      why (free text, at most MAX_REASON_CHARS)
     "announced_at": 1767225600123,                  epoch ms
     "loss_model_sha256": "<64 hex>"}                optional: the version's loss_model.joblib

`loss_model_sha256` pins the loss model (label-free performance estimation) the same way; an
announcement without it serves the model with estimation off (the reader never unpickles a
loss model whose hash came only from the metadata beside it).

A null value (a tombstone) withdraws the alias: for ``challenger``, no challenger any more.
Readers ignore other fields, so a writer may add some.

`encode_announcement` writes one; `decode_announcement` reads one and never raises: a value
that is not such an object gives an `InvalidAnnouncement` with the reason in words. The
sha256 is the pin the reader verifies the loaded bytes against (the registry's metadata is
checked too), so a version whose bytes changed after it was announced is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

MODELS_TOPIC = "diamonds.models"
MODELS_TOPIC_CONFIG: dict[str, str] = {"cleanup.policy": "compact"}
ALIASES: tuple[str, ...] = ("champion", "challenger")
ANNOUNCEMENT_FIELDS: tuple[str, ...] = (
    "alias", "version", "sha256", "location", "reason", "announced_at", "loss_model_sha256",
)
MAX_ANNOUNCEMENT_BYTES = 16_384
MAX_REASON_CHARS = 1_000
_SHA256 = re.compile(r"[0-9a-f]{64}")
_VERSION = re.compile(r"v[0-9]{4,}")


@dataclass(frozen=True, slots=True)
class Announcement:
    alias: str
    version: str
    sha256: str
    location: str
    reason: str
    announced_at: int  # epoch milliseconds
    loss_model_sha256: str | None = None


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """A tombstone: the alias points at nothing any more."""

    alias: str


@dataclass(frozen=True, slots=True)
class InvalidAnnouncement:
    error: str


def encode_announcement(announcement: Announcement) -> tuple[bytes, bytes]:
    """(key, value) of one announcement message (the fields in `ANNOUNCEMENT_FIELDS` order)."""
    fields = {
        "alias": announcement.alias, "version": announcement.version,
        "sha256": announcement.sha256, "location": announcement.location,
        "reason": announcement.reason[:MAX_REASON_CHARS],
        "announced_at": announcement.announced_at,
    }
    if announcement.loss_model_sha256 is not None:
        fields["loss_model_sha256"] = announcement.loss_model_sha256
    value = orjson.dumps(fields)
    return announcement.alias.encode(), value


def decode_announcement(
    key: bytes | None, value: bytes | None
) -> Announcement | Withdrawal | InvalidAnnouncement:
    """Decode one models-topic message (key and value)."""
    alias = key.decode("utf-8", "replace") if key is not None else None
    if alias not in ALIASES:
        return InvalidAnnouncement(f"key must be one of {', '.join(ALIASES)}, got {alias!r:.80}")
    if value is None:
        return Withdrawal(alias)
    if len(value) > MAX_ANNOUNCEMENT_BYTES:
        return InvalidAnnouncement(
            f"announcement is {len(value)} bytes, the limit is {MAX_ANNOUNCEMENT_BYTES}"
        )
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        return InvalidAnnouncement(f"not valid JSON: {exc}")
    if not isinstance(obj, dict):
        return InvalidAnnouncement(f"announcement must be a JSON object, got {type(obj).__name__}")
    if obj.get("alias") != alias:
        return InvalidAnnouncement(f"alias {obj.get('alias')!r:.80} does not match key {alias!r}")
    version, sha, location = obj.get("version"), obj.get("sha256"), obj.get("location")
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        return InvalidAnnouncement(f"version must look like v0001, got {version!r:.80}")
    if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
        return InvalidAnnouncement(f"sha256 must be 64 lowercase hex digits, got {sha!r:.80}")
    if not isinstance(location, str) or not location:
        return InvalidAnnouncement(f"location must be a non-empty path, got {location!r:.80}")
    reason, announced_at = obj.get("reason", ""), obj.get("announced_at")
    if not isinstance(reason, str):
        return InvalidAnnouncement(f"reason must be a string, got {type(reason).__name__}")
    if isinstance(announced_at, bool) or not isinstance(announced_at, int) or announced_at < 0:
        return InvalidAnnouncement(
            f"announced_at must be epoch milliseconds, got {announced_at!r:.80}"
        )
    loss_sha = obj.get("loss_model_sha256")
    if loss_sha is not None and (not isinstance(loss_sha, str) or not _SHA256.fullmatch(loss_sha)):
        return InvalidAnnouncement(
            f"loss_model_sha256 must be 64 lowercase hex digits, got {loss_sha!r:.80}"
        )
    return Announcement(alias, version, sha, location, reason[:MAX_REASON_CHARS], announced_at,
                        loss_sha)
