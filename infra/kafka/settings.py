"""Where the local broker keeps its files and which ports it uses: one settings object.

Every field is read from an environment variable and can be overridden by a CLI flag:

=======================  =============================  ==================================
field                    environment variable           default
=======================  =============================  ==================================
``home``                 ``KAFKA_LOCAL_HOME``           ``<repo>/.cache/kafka`` (git-ignored)
``host``                 ``KAFKA_LOCAL_HOST``           ``127.0.0.1``
``port``                 ``KAFKA_LOCAL_PORT``           ``9092``
``controller_port``      ``KAFKA_LOCAL_CONTROLLER_PORT`` ``port + 1``
``heap``                 ``KAFKA_LOCAL_HEAP``           ``512M``
=======================  =============================  ==================================

Layout under ``home``: ``libs/`` (jars), ``.stamp-libs`` (fetch done), ``run/broker.pid``,
``run/broker.log``, ``run/data/`` (server.properties, cluster id, Kafka log dirs).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]
POM_FILE = Path(__file__).resolve().with_name("pom.xml")
LOG4J2_CONFIG = Path(__file__).resolve().with_name("log4j2.xml")


class LocalKafkaSettings(BaseSettings):
    """Settings of the ``make broker`` daemon and the test fixture (frozen)."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_LOCAL_", frozen=True, extra="ignore")

    home: Path = REPO_ROOT / ".cache" / "kafka"
    host: str = "127.0.0.1"
    port: int = Field(default=9092, ge=1, le=65535)
    controller_port: int | None = Field(default=None, ge=1, le=65535)
    heap: str = Field(default="512M", pattern=r"^[0-9]+[kKmMgG]?$")

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, home: Path) -> Path:
        return home.expanduser().absolute()

    @property
    def resolved_controller_port(self) -> int:
        return self.controller_port if self.controller_port is not None else self.port + 1

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def libs_dir(self) -> Path:
        return self.home / "libs"

    @property
    def stamp_file(self) -> Path:
        return self.home / ".stamp-libs"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def pid_file(self) -> Path:
        return self.run_dir / "broker.pid"

    @property
    def data_dir(self) -> Path:
        return self.run_dir / "data"

    @property
    def log_file(self) -> Path:
        return self.run_dir / "broker.log"
