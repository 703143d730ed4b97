"""librdkafka configuration: our settings plus the user's pass-through (security.protocol, sasl.*,
ssl.*, ...), and a redacted view that is safe to log.

`client_config` returns a `ClientConfig`: a plain dict for librdkafka that also remembers which
keys came from the user's pass-through (`--kafka-config`). `redact` hides *every* such value
(the keys show, so a log still says what was set): `sasl.username`, `sasl.oauthbearer.config`,
`ssl.key.pem` and whatever librdkafka adds next are secret without a list to keep up to date.
Of our own settings, the keys that look like credentials are hidden as well.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr

# Keys whose values are credentials: never logged, never exported.
_SECRET_MARKERS = ("password", "secret", "key", "token", "credentials", "jaas")
REDACTED = "***"


class ClientConfig(dict[str, Any]):
    """A librdkafka config (a dict) that knows the keys the user passed through."""

    def __init__(self, *args: Any, passthrough_keys: frozenset[str] = frozenset(), **kw: Any):
        super().__init__(*args, **kw)
        self.passthrough_keys = passthrough_keys


def client_config(
    bootstrap_servers: str,
    base: Mapping[str, Any],
    passthrough: Mapping[str, SecretStr | str],
) -> ClientConfig:
    """Merge: our defaults (`base`), then the user's librdkafka settings, which win."""
    config = ClientConfig(
        {"bootstrap.servers": bootstrap_servers, **base}, passthrough_keys=frozenset(passthrough)
    )
    for key, value in passthrough.items():
        config[key] = value.get_secret_value() if isinstance(value, SecretStr) else value
    return config


def is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return any(marker in lowered for marker in _SECRET_MARKERS) and not lowered.endswith(
        (".location", ".algorithm", ".mechanism", ".mechanisms")
    )


def redact(config: Mapping[str, Any]) -> dict[str, Any]:
    """A copy fit for logs: the user's pass-through values and credentials replaced by '***',
    callables by their name."""
    hidden: frozenset[str] = getattr(config, "passthrough_keys", frozenset())
    safe: dict[str, Any] = {}
    for key, value in config.items():
        if key in hidden or is_secret_key(key):
            safe[key] = REDACTED
        elif callable(value):
            safe[key] = getattr(value, "__name__", "<callable>")
        else:
            safe[key] = value
    return safe
