"""`common.settings.cli_settings_config`: one frozen settings object, a flag and its environment
variable the same setting, flags winning; every entry point builds its config with it."""

from __future__ import annotations

import importlib

import pytest
from pydantic import ValidationError
from pydantic_settings import BaseSettings, CliApp

from common.settings import cli_settings_config


class Implicit(BaseSettings):
    model_config = cli_settings_config(env_prefix="T_", prog_name="python -m t",
                                       implicit_flags=True)

    batch_size: int = 1
    labels: bool = False


class Explicit(BaseSettings):
    model_config = cli_settings_config(env_prefix="T_", prog_name="python -m t")

    labels: bool = False


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("T_BATCH_SIZE", raising=False)
    monkeypatch.delenv("T_LABELS", raising=False)


def test_a_kebab_case_flag_and_its_prefixed_variable_are_one_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert CliApp.run(Implicit, cli_args=["--batch-size", "7"]).batch_size == 7
    monkeypatch.setenv("T_BATCH_SIZE", "9")
    assert CliApp.run(Implicit, cli_args=[]).batch_size == 9
    assert CliApp.run(Implicit, cli_args=["--batch-size", "7"]).batch_size == 7  # flags win


def test_the_object_is_frozen() -> None:
    settings = CliApp.run(Implicit, cli_args=[])
    with pytest.raises(ValidationError, match="frozen"):
        settings.batch_size = 2


def test_implicit_flags_make_booleans_bare_flags_with_a_negation() -> None:
    assert CliApp.run(Implicit, cli_args=["--labels"]).labels is True
    assert CliApp.run(Implicit, cli_args=["--labels", "--no-labels"]).labels is False
    assert CliApp.run(Explicit, cli_args=["--labels", "true"]).labels is True
    with pytest.raises(SystemExit):
        CliApp.run(Explicit, cli_args=["--no-labels"])


def test_the_usage_line_names_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        CliApp.run(Explicit, cli_args=["--help"])
    assert capsys.readouterr().out.startswith("usage: python -m t ")


@pytest.mark.parametrize(
    ("module", "name", "prefix", "prog", "implicit"),
    [
        ("bench.settings", "BenchSettings", "BENCH_", "python -m bench", True),
        ("consumer.settings", "ConsumerSettings", "CONSUMER_", "python -m consumer", False),
        ("demo.settings", "DemoSettings", "DEMO_", "python -m demo", True),
        ("model.settings", "TrainSettings", "TRAIN_", "python -m model train", False),
        ("producer.settings", "ProducerSettings", "PRODUCER_", "python -m producer", True),
    ],
)
def test_every_entry_point_uses_it(
    module: str, name: str, prefix: str, prog: str, implicit: bool
) -> None:
    config = getattr(importlib.import_module(module), name).model_config
    expected = cli_settings_config(env_prefix=prefix, prog_name=prog, implicit_flags=implicit)
    assert {key: config.get(key) for key in expected} == expected
