"""librdkafka configuration: our settings plus the user's pass-through (security.protocol, sasl.*,
ssl.*, ...), and a redacted view that is safe to log."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr

# Keys whose values are credentials: never logged, never exported.
_SECRET_MARKERS = ("password", "secret", "key", "token", "credentials", "jaas")


def client_config(
    bootstrap_servers: str,
    base: Mapping[str, Any],
    passthrough: Mapping[str, SecretStr | str],
) -> dict[str, Any]:
    """Merge: our defaults (`base`), then the user's librdkafka settings, which win."""
    config: dict[str, Any] = {"bootstrap.servers": bootstrap_servers, **base}
    for key, value in passthrough.items():
        config[key] = value.get_secret_value() if isinstance(value, SecretStr) else value
    return config


def is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return any(marker in lowered for marker in _SECRET_MARKERS) and not lowered.endswith(
        (".location", ".algorithm", ".mechanism", ".mechanisms")
    )


def redact(config: Mapping[str, Any]) -> dict[str, Any]:
    """A copy fit for logs: credentials replaced by '***', callables by their name."""
    safe: dict[str, Any] = {}
    for key, value in config.items():
        if is_secret_key(key):
            safe[key] = "***"
        elif callable(value):
            safe[key] = getattr(value, "__name__", "<callable>")
        else:
            safe[key] = value
    return safe
