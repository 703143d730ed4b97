"""The JSON files of the drift references (profile, estimation reference): written atomically,
read back as one JSON object or refused with a `ProfileError`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from drift.exceptions import ProfileError


def save_json(data: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Write `data` as JSON, atomically (a temporary file renamed over `path`)."""
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(data, allow_nan=False), encoding="utf-8")
    os.replace(tmp, target)


def load_json_object(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The JSON object in `path`; ProfileError when it is not valid JSON or not an object."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ProfileError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ProfileError(f"{path} does not hold a JSON object")
    return data
