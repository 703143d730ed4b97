"""consumer.command: the one command line and environment of a `python -m consumer` child, and
the demo's consumer settings read back by the consumer's own settings object."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from consumer.command import REPO, consumer_command

ENVIRON = {
    "PATH": "/usr/bin", "LOG_LEVEL": "DEBUG", "CONSUMER_GROUP_ID": "inherited",
    "PRODUCER_RATE": "9", "DEMO_RATE": "9", "TRAIN_SEED": "9", "OTHER": "kept",
}


def test_flags_and_metrics_port_make_the_command_line() -> None:
    command = consumer_command(flags=["--group-id", "g"], metrics_port=8123, environ={})
    assert command.argv == (sys.executable, "-m", "consumer", "--group-id", "g",
                            "--metrics-port", "8123", "--metrics-addr", "127.0.0.1")
    assert command.cwd == REPO
    assert consumer_command(environ={}).argv == (sys.executable, "-m", "consumer")


def test_inherited_settings_of_any_component_are_dropped() -> None:
    env = consumer_command(environ=ENVIRON).env
    assert not [k for k in env if k.startswith(("CONSUMER_", "PRODUCER_", "DEMO_", "TRAIN_"))]
    assert env["OTHER"] == "kept" and env["PATH"] == "/usr/bin"
    assert env["PYTHONPATH"] == str(REPO) and env["PYTHONUNBUFFERED"] == "1"
    assert env["LOG_LEVEL"] == "INFO"  # callers wait for INFO lines unless they say otherwise
    assert consumer_command(environ=ENVIRON, log_level="DEBUG").env["LOG_LEVEL"] == "DEBUG"


def test_settings_become_consumer_variables_and_extra_env_comes_last() -> None:
    env = consumer_command(
        environ=ENVIRON, settings={"group_id": "mine", "lag_interval": 1},
        extra_env={"CONSUMER_FAULT": "before_commit:kill@2", "CONSUMER_GROUP_ID": "last"},
    ).env
    assert env["CONSUMER_LAG_INTERVAL"] == "1"
    assert env["CONSUMER_FAULT"] == "before_commit:kill@2"  # the chaos harness's fault
    assert env["CONSUMER_GROUP_ID"] == "last"


def test_the_demo_consumer_settings_are_the_consumer_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    from consumer.settings import ConsumerSettings
    from demo.processes import GROUP_ID, consumer_process
    from demo.settings import EVENTS_TOPIC, DemoSettings

    demo = DemoSettings(model_path=tmp_path / "model")
    child = consumer_process(demo, "127.0.0.1:9", 8123, tmp_path / "consumer.log")
    assert child.metrics_port == 8123
    assert child.argv[-4:] == ["--metrics-port", "8123", "--metrics-addr", "127.0.0.1"]
    for name in [k for k in os.environ if k.startswith("CONSUMER_")]:
        monkeypatch.delenv(name)
    for name, value in child.env.items():
        if name.startswith("CONSUMER_"):
            monkeypatch.setenv(name, value)
    settings = ConsumerSettings()
    assert (settings.bootstrap_servers, settings.input_topic, settings.group_id) == (
        "127.0.0.1:9", EVENTS_TOPIC, GROUP_ID)
    assert Path(settings.model_path) == tmp_path / "model"
    assert settings.drift_eval_interval == demo.drift_eval_interval
    assert settings.create_topics is False


def test_the_demo_retrainer_flags_are_retrainer_settings(tmp_path: Path) -> None:
    from pydantic_settings import CliApp

    from demo.processes import RETRAINER_GROUP_ID, retrainer_process
    from demo.settings import MODELS_TOPIC
    from retrainer.settings import RetrainerSettings

    child = retrainer_process("127.0.0.1:9", tmp_path / "registry", 9123,
                              tmp_path / "retrainer.log")
    assert child.argv[1:3] == ["-m", "retrainer"]
    settings = CliApp.run(RetrainerSettings, cli_args=child.argv[3:])
    assert (settings.bootstrap_servers, settings.group_id, settings.models_topic) == (
        "127.0.0.1:9", RETRAINER_GROUP_ID, MODELS_TOPIC)
    assert settings.registry_dir == tmp_path / "registry" and settings.metrics_port == 9123
    assert (settings.min_gap_s, settings.create_topics) == (0, False)
