"""One logging format for every entry point."""

from __future__ import annotations

import logging
import os

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str | None = None) -> None:
    """Log to stderr at LOG_LEVEL (default INFO)."""
    logging.basicConfig(level=(level or os.environ.get("LOG_LEVEL", "INFO")).upper(), format=FORMAT)
