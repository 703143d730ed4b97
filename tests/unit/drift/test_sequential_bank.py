"""The tilted-bin CUSUM bank: closed forms, the vectorised recursion against a loop, bounds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import entropy

from drift.sequential import Direction, TiltBank
from drift.sequential.bank import cusum_path, increments, kl_from_reference, score_sd

P0 = np.array([0.1, 0.2, 0.3, 0.25, 0.15])
SCORES = np.linspace(-1.0, 1.0, 5)


@pytest.mark.parametrize("theta", [-2.0, -0.3, 0.05, 0.7, 3.2])
def test_increments_are_exact_log_likelihood_ratios(theta: float) -> None:
    z = increments(P0, SCORES, theta)
    tilted = P0 * np.exp(theta * SCORES) / np.sum(P0 * np.exp(theta * SCORES))
    np.testing.assert_allclose(z, np.log(tilted / P0))
    assert np.sum(P0 * np.exp(z)) == pytest.approx(1.0, abs=1e-12)  # E0[exp z] = 1
    assert kl_from_reference(P0, z) == pytest.approx(entropy(P0, tilted))


def test_a_bin_the_reference_never_saw_adds_no_mass() -> None:
    p0 = np.array([0.5, 0.5, 0.0])
    z = increments(p0, np.array([0.0, 1.0, 5.0]), 1.0)
    assert np.sum(p0 * np.exp(z)) == pytest.approx(1.0)
    assert math.isfinite(z[2])


def test_score_sd_matches_numpy() -> None:
    sample = np.repeat(SCORES, (P0 * 1000).astype(int))
    assert score_sd(P0, SCORES) == pytest.approx(np.std(sample))


def test_cusum_path_equals_the_recursion() -> None:
    rng = np.random.default_rng(5)
    z = rng.normal(-0.1, 1.0, size=(400, 3))  # one row per step
    w0 = np.array([0.0, 2.5, 7.0])
    expected = np.empty_like(z)
    for k in range(3):
        w = w0[k]
        for t in range(z.shape[0]):
            w = max(0.0, w + z[t, k])
            expected[t, k] = w
    np.testing.assert_allclose(cusum_path(w0, z.copy()), expected, atol=1e-9)


def _loop_first_alarm(bank: TiltBank, codes: np.ndarray) -> int | None:
    """The recursion as written: one step per block of `bank.block` events."""
    w = np.zeros(bank.size)
    for end in range(bank.block, codes.size + 1, bank.block):
        w = np.maximum(0.0, w + bank.table[:, codes[end - bank.block:end]].sum(axis=1))
        if np.any(w >= bank.h):
            return end - 1
    return None


def _shifted_stream(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shifted = P0 * np.exp(0.8 * SCORES)
    return np.concatenate([
        rng.choice(5, 300, p=P0), rng.choice(5, 2000, p=shifted / shifted.sum())
    ])


@pytest.mark.parametrize("block", [1, 16])
@pytest.mark.parametrize("pieces", [1, 37, 700])  # 700: most batches smaller than a block
def test_update_finds_the_alarm_event_whatever_the_batches(block: int, pieces: int) -> None:
    codes = _shifted_stream(11)
    bank = TiltBank(P0, [Direction("location", SCORES, (-0.5, 0.5, 1.0))], h=6.0, block=block)
    expected = _loop_first_alarm(bank, codes)
    assert expected is not None and expected > 300 and (expected + 1) % block == 0
    seen, found = 0, None
    for batch in np.array_split(codes, pieces):  # uneven batches, the alarm inside one
        hit = bank.update(batch)
        if hit is not None:
            found = seen + hit[0]
            assert bank.names[hit[1]].startswith("location+")
            break
        seen += batch.size
    assert found == expected
    assert bank.statistic >= bank.h


def test_a_block_steps_once_with_the_sum_of_its_increments() -> None:
    bank = TiltBank(P0, [Direction("location", SCORES, (1.0,))], h=50.0, block=4)
    bank.update(np.array([4, 4, 4]))  # an incomplete block waits
    assert bank.statistic == 0.0
    bank.update(np.array([0]))  # completes it: three large steps up and one down, summed
    assert bank.statistic == pytest.approx(max(0.0, 3 * bank.table[0, 4] + bank.table[0, 0]))
    bank.reset()
    bank.update(np.array([4, 4, 4]))
    bank.reset()  # a reset forgets the waiting events too
    bank.update(np.array([0]))
    assert bank.statistic == 0.0


def test_slack_only_lowers_the_increments() -> None:
    direction = Direction("location", SCORES, (-1.0, 0.2))
    plain = TiltBank(P0, [direction], h=5.0)
    slack = TiltBank(P0, [direction], h=5.0, slack=0.1)
    allowance = np.array([1.0, 0.2]) * 0.1 * score_sd(P0, SCORES)
    np.testing.assert_allclose(plain.table - slack.table, np.repeat(allowance[:, None], 5, 1))
    np.testing.assert_allclose(slack.lr_table, plain.table)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"p0": np.array([0.5, 0.6]), "h": 1.0}, "p0"),
        ({"p0": np.array([1.0]), "h": 1.0}, "p0"),
        ({"p0": np.array([0.5, 0.5]), "h": 0.0}, "h must be"),
        ({"p0": np.array([0.5, 0.5]), "h": 1.0, "slack": -1.0}, "slack"),
        ({"p0": np.array([0.5, 0.5]), "h": 1.0, "block": 0}, "block"),
    ],
)
def test_bad_parameters_name_the_valid_range(kwargs: dict, match: str) -> None:
    scores = np.zeros(kwargs["p0"].size)
    with pytest.raises(ValueError, match=match):
        TiltBank(directions=[Direction("d", scores, (1.0,))], **kwargs)


def test_a_direction_must_score_every_bin() -> None:
    with pytest.raises(ValueError, match="scores"):
        TiltBank(P0, [Direction("d", np.zeros(3), (1.0,))], h=2.0)
