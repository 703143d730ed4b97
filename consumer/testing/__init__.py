"""Test-only hooks of the service, kept out of the production modules.

`faults.FaultInjector`: the chaos runs' fault injection at named points of a batch, armed by
`ConsumerSettings.fault` (env CONSUMER_FAULT), off by default.
"""

from consumer.testing.faults import ENV_VAR, POINTS, FaultInjector

__all__ = ["ENV_VAR", "POINTS", "FaultInjector"]
