"""Settings refuse any two of the seven topics being equal (issue 12.4, 15)."""

from __future__ import annotations

from itertools import combinations

import pytest
from pydantic import ValidationError

from consumer.__main__ import main
from consumer.settings import ConsumerSettings

TOPIC_FIELDS = (
    "input_topic", "output_topic", "dlq_topic", "labels_topic", "drift_reports_topic",
    "models_topic", "shadow_topic",
)
PAIRS = list(combinations(TOPIC_FIELDS, 2))


def test_every_pair_of_topic_settings_is_checked() -> None:
    assert len(PAIRS) == 21  # input, output, dlq, labels, drift reports, models, shadow


@pytest.mark.parametrize(("first", "second"), PAIRS)
def test_two_equal_topics_are_refused_naming_both(first: str, second: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ConsumerSettings(**{first: "same", second: "same"})
    message = str(caught.value)
    assert f"{second} 'same' must differ from {first}" in message


def test_the_defaults_are_all_different() -> None:
    settings = ConsumerSettings()
    topics = [getattr(settings, name) for name in TOPIC_FIELDS]
    assert len(set(topics)) == len(topics)


def test_empty_labels_and_reports_topics_are_not_a_clash() -> None:
    settings = ConsumerSettings(labels_topic="", drift_reports_topic="")
    assert not settings.label_join


@pytest.mark.parametrize("flag", ["--dlq-topic", "--output-topic"])
def test_the_cli_exits_2_with_one_line_naming_both(
    flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([flag, "diamonds.events"]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "input_topic" in line]
    assert len(lines) == 1 and flag[2:].replace("-", "_") in lines[0]
