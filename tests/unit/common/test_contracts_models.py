"""The model-announcement codec: round trip, tombstones and every refusal."""

from __future__ import annotations

import orjson
import pytest

from common.contracts.models import (
    ANNOUNCEMENT_FIELDS,
    MAX_ANNOUNCEMENT_BYTES,
    MAX_REASON_CHARS,
    Announcement,
    InvalidAnnouncement,
    Withdrawal,
    decode_announcement,
    encode_announcement,
)

SHA = "ab" * 32


def _announcement(**overrides: object) -> Announcement:
    fields: dict[str, object] = {
        "alias": "champion", "version": "v0002", "sha256": SHA,
        "location": "/registry/versions/v0002", "reason": "promoted", "announced_at": 1_700,
    }
    fields.update(overrides)
    return Announcement(**fields)  # type: ignore[arg-type]


def test_round_trip_keeps_every_field_in_order() -> None:
    key, value = encode_announcement(_announcement(loss_model_sha256="cd" * 32))
    assert key == b"champion"
    assert tuple(orjson.loads(value)) == ANNOUNCEMENT_FIELDS
    assert decode_announcement(key, value) == _announcement(loss_model_sha256="cd" * 32)


def test_the_loss_model_pin_is_optional() -> None:
    key, value = encode_announcement(_announcement())
    assert "loss_model_sha256" not in orjson.loads(value)
    decoded = decode_announcement(key, value)
    assert isinstance(decoded, Announcement) and decoded.loss_model_sha256 is None


def test_a_tombstone_withdraws_the_alias() -> None:
    assert decode_announcement(b"challenger", None) == Withdrawal("challenger")


def test_long_reasons_are_cut() -> None:
    key, value = encode_announcement(_announcement(reason="x" * (MAX_REASON_CHARS + 5)))
    decoded = decode_announcement(key, value)
    assert isinstance(decoded, Announcement)
    assert len(decoded.reason) == MAX_REASON_CHARS


def _value(**overrides: object) -> bytes:
    obj = orjson.loads(encode_announcement(_announcement())[1])
    obj.update(overrides)
    return orjson.dumps(obj)


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        (b"staging", _value(), "key must be one of"),
        (None, _value(), "key must be one of"),
        (b"champion", b"{", "not valid JSON"),
        (b"champion", b"[1]", "JSON object"),
        (b"champion", b"x" * (MAX_ANNOUNCEMENT_BYTES + 1), "limit"),
        (b"challenger", _value(), "does not match key"),
        (b"champion", _value(version="2"), "version"),
        (b"champion", _value(sha256="AB" * 32), "sha256"),
        (b"champion", _value(sha256="ab"), "sha256"),
        (b"champion", _value(location=""), "location"),
        (b"champion", _value(reason=3), "reason"),
        (b"champion", _value(announced_at=True), "announced_at"),
        (b"champion", _value(announced_at=-1), "announced_at"),
        (b"champion", _value(loss_model_sha256="x"), "loss_model_sha256"),
    ],
)
def test_refusals_say_why(key: bytes | None, value: bytes, words: str) -> None:
    decoded = decode_announcement(key, value)
    assert isinstance(decoded, InvalidAnnouncement)
    assert words in decoded.error
