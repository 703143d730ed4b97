"""A minimal artifact writer for registry tests (no training): model.joblib bytes and a
metadata.json that records their sha256."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from model.artifact import METADATA_FILE, PIPELINE_FILE


def fake_artifact(payload: bytes) -> Any:
    """A writer of a minimal artifact: model.joblib bytes and metadata with their sha256."""

    def write(directory: Path) -> dict[str, Any]:
        (directory / PIPELINE_FILE).write_bytes(payload)
        metadata = {"sha256": hashlib.sha256(payload).hexdigest(), "model_type": "hgb",
                    "model_version": "hgb-test", "metrics": {"mae": 1.0}}
        (directory / METADATA_FILE).write_text(json.dumps(metadata))
        return metadata

    return write
