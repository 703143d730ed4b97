"""The promotion rule on hand-computed cases, with scipy's paired t-test as the oracle."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from retrainer.promotion import LiveComparison, PromotionRule, better_p_value, decide

RULE = PromotionRule(min_labels=4, margin=0.05, alpha=0.05, timeout_s=100)


def comparison(truth: list[float], champion: list[float], challenger: list[float],
               window: int = 100) -> LiveComparison:
    compared = LiveComparison(window=window)
    compared.add(np.array(truth), np.array(champion), np.array(challenger))
    return compared


def test_maes_and_differences_are_the_paired_absolute_errors() -> None:
    # champion errors 10, 20, 30, 40 (MAE 25); challenger errors 5, 10, 5, 20 (MAE 10)
    compared = comparison([100, 100, 100, 100], [110, 80, 130, 60], [95, 110, 105, 80])
    assert compared.maes() == (25.0, 10.0)
    assert compared.differences().tolist() == [5.0, 10.0, 25.0, 20.0]


def test_a_clearly_better_challenger_is_promoted() -> None:
    compared = comparison([100, 100, 100, 100], [110, 80, 130, 60], [95, 110, 105, 80])
    p = stats.ttest_1samp([5, 10, 25, 20], 0, alternative="greater").pvalue
    assert better_p_value(compared.differences()) == pytest.approx(p)
    assert p < 0.05
    decision = decide(compared, RULE, elapsed_s=1)
    assert decision.kind == "promote"
    assert "challenger MAE 10.0 vs champion 25.0 on 4 live labels" in decision.reason


def test_too_few_labels_wait_however_good() -> None:
    compared = comparison([100, 100, 100], [110, 80, 130], [100, 100, 100])
    assert decide(compared, RULE, elapsed_s=1).kind == "wait"


def test_a_gain_inside_the_margin_waits() -> None:
    # champion MAE 10, challenger 9.6: 4 % better, the margin asks 5 %
    compared = comparison([0] * 4, [10, 10, 10, 10], [9.6, 9.6, 9.6, 9.6])
    assert decide(compared, RULE, elapsed_s=1).kind == "wait"
    # 9.5 is exactly 5 % better: enough, and no variance makes the sign decisive
    compared = comparison([0] * 4, [10, 10, 10, 10], [9.5, 9.5, 9.5, 9.5])
    assert decide(compared, RULE, elapsed_s=1).kind == "promote"


def test_better_on_average_but_not_significant_waits() -> None:
    # differences 100, -90, 100, -90: mean 5 > 0, MAE 52.5 vs 50 the other way round? no:
    # champion errors 100, 10, 100, 10 (MAE 55); challenger 0, 100, 0, 100 (MAE 50)
    compared = comparison([0] * 4, [100, 10, 100, 10], [0, 100, 0, 100])
    assert compared.maes() == (55.0, 50.0)
    assert better_p_value(compared.differences()) > 0.05
    assert decide(compared, RULE, elapsed_s=1).kind == "wait"


def test_a_clearly_worse_challenger_is_withdrawn() -> None:
    compared = comparison([100, 100, 100, 100], [95, 110, 105, 80], [110, 80, 130, 60])
    decision = decide(compared, RULE, elapsed_s=1)
    assert decision.kind == "withdraw"
    assert "worse by > 5%" in decision.reason


def test_an_undecided_challenger_times_out() -> None:
    compared = comparison([0] * 4, [10, 10, 10, 10], [10, 10, 10, 10])
    assert decide(compared, RULE, elapsed_s=99).kind == "wait"
    decision = decide(compared, RULE, elapsed_s=100)
    assert decision.kind == "withdraw" and decision.reason.startswith("no decision within 100 s")


def test_the_window_keeps_the_newest_pairs() -> None:
    compared = comparison([0, 0, 0], [1, 2, 3], [3, 2, 1], window=2)
    assert len(compared) == 2
    assert compared.maes() == (2.5, 1.5)


@pytest.mark.parametrize("bad", [{"min_labels": 1}, {"margin": 1.0}, {"alpha": 0.0},
                                 {"timeout_s": 0}])
def test_bad_rule_parameters_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        PromotionRule(**bad)  # type: ignore[arg-type]
