"""Settings errors fit for a terminal or a log: pydantic's message without the input values.

pydantic's `str(ValidationError)` repeats each offending input (`input_value=...`); for
`kafka_config` that is the whole dict, credentials included. `describe(exc)` keeps the field
path and the message (which names the bad key and what is expected) and drops the values.
"""

from __future__ import annotations

from pydantic import ValidationError


def describe(exc: ValidationError) -> str:
    """One line per error: `field.path: message`, never the input value."""
    lines = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        where = ".".join(str(part) for part in error["loc"]) or "settings"
        lines.append(f"{where}: {error['msg']}")
    return f"{exc.error_count()} invalid setting(s) for {exc.title}:\n  " + "\n  ".join(lines)
