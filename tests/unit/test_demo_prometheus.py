"""The demo's Prometheus runner (infra.prometheus.local) and settings, without the binary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError
from pydantic_settings import CliApp

from demo.settings import DemoSettings
from infra.prometheus import ALERTS_FILE, LocalPrometheus, PrometheusNotFound
from infra.prometheus.local import duration

LOCAL_CONFIG = Path(__file__).resolve().parents[2] / "infra" / "prometheus" / "prometheus.local.yml"


def test_rendered_config_is_the_local_one_with_other_targets_and_intervals(tmp_path) -> None:
    prom = LocalPrometheus(targets=["127.0.0.1:18000"], data_dir=tmp_path, port=19090,
                           scrape_interval=1.0)
    rendered = prom.render_config()
    expected = yaml.safe_load(LOCAL_CONFIG.read_text())
    expected["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
    expected["rule_files"] = [str(ALERTS_FILE)]
    expected["scrape_configs"][0]["static_configs"] = [{"targets": ["127.0.0.1:18000"]}]
    assert rendered == expected
    assert yaml.safe_load(json.dumps(rendered)) == rendered  # written as JSON, read as YAML
    assert prom.url == "http://127.0.0.1:19090" and prom.pid is None and not prom.is_running


@pytest.mark.parametrize(("seconds", "text"), [(1.0, "1s"), (0.5, "500ms"), (120, "120s")])
def test_durations(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def test_bad_arguments_and_a_missing_binary(tmp_path) -> None:
    with pytest.raises(ValueError, match="targets is empty"):
        LocalPrometheus(targets=[], data_dir=tmp_path)
    with pytest.raises(ValueError, match="port=70000"):
        LocalPrometheus(targets=["x:1"], data_dir=tmp_path, port=70000)
    with pytest.raises(ValueError, match="> 0 seconds"):
        LocalPrometheus(targets=["x:1"], data_dir=tmp_path, scrape_interval=0)
    prom = LocalPrometheus(targets=["x:1"], data_dir=tmp_path, binary="no-such-prometheus")
    with pytest.raises(PrometheusNotFound, match="make prometheus-bin"):
        prom.start()
    prom.stop()  # never started: nothing to do


def test_settings_flags_and_environment_are_the_same(monkeypatch) -> None:
    monkeypatch.setenv("DEMO_RATE", "500")
    settings = CliApp.run(DemoSettings, cli_args=["--seconds", "60", "--no-prometheus"])
    assert (settings.seconds, settings.rate, settings.prometheus) == (60.0, 500.0, False)
    assert settings.phase_seconds == 15.0  # four phases
    assert CliApp.run(DemoSettings, cli_args=["--rate", "2000"]).rate == 2000.0
    with pytest.raises(ValidationError):
        DemoSettings(seconds=5)


def test_phase_lengths_set_each_phase_or_default_to_a_quarter(monkeypatch) -> None:
    settings = CliApp.run(DemoSettings, cli_args=["--seconds", "60"])
    assert [settings.phase_length(i) for i in range(4)] == [15.0] * 4
    settings = CliApp.run(DemoSettings, cli_args=["--phase-lengths", "12,12,25,25"])
    assert [settings.phase_length(i) for i in range(4)] == [12.0, 12.0, 25.0, 25.0]
    monkeypatch.setenv("DEMO_PHASE_LENGTHS", "[5, 6, 7, 8]")
    assert CliApp.run(DemoSettings, cli_args=[]).phase_length(3) == 8.0
    for bad in ("12,12,25", "12,12,25,2"):
        with pytest.raises(ValidationError, match="4 lengths of at least 3 s"):
            DemoSettings(phase_lengths=bad)
