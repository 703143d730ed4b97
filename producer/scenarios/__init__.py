"""Pluggable stream scenarios: one small class each, selected by name.

A new scenario is one class: subclass `Scenario`, set `name`, implement `apply`, decorate with
`@register` and import it below.

==============  =============================================================================
name            what changes (strength 1; from `drift_onset` on)
==============  =============================================================================
baseline        nothing: held-out test rows, sampled with replacement
data-drift      carat x1.30; 40 % of clarities redrawn from SI2 70 % / I1 30 %; labels unchanged
gradual-drift   the data-drift shift, ramping linearly to full over `drift_ramp` events
concept-drift   features unchanged; labels = price x1.60
covariate-shift real rows drawn toward large stones (weight exp(carat)); labels true
  -cheap        ... toward small stones (weight exp(-2 carat)); labels true
  -rare         ... toward the rarest clarities I1 / IF (weight 10); labels true
==============  =============================================================================

`data-drift` keeps each stone's old price for a heavier stone: a concept change in disguise.
The `covariate-shift` scenarios move only the input mix (see `covariate_shift`).
"""

from producer.scenarios.base import SCENARIOS, Scenario, register
from producer.scenarios.baseline import Baseline
from producer.scenarios.concept_drift import ConceptDrift
from producer.scenarios.covariate_shift import (
    CovariateShift,
    CovariateShiftCheap,
    CovariateShiftRare,
)
from producer.scenarios.data_drift import DataDrift
from producer.scenarios.gradual_drift import GradualDrift

__all__ = [
    "SCENARIOS",
    "Baseline",
    "ConceptDrift",
    "CovariateShift",
    "CovariateShiftCheap",
    "CovariateShiftRare",
    "DataDrift",
    "GradualDrift",
    "Scenario",
    "register",
]
