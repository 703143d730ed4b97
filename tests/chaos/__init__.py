"""Fault-injection runs of the scoring service on real brokers: `python -m tests.chaos`.

    __main__   the command line: scenarios x guarantee modes, table, results/latest.json
    scenarios  sigkill, sigterm, broker-restart, rebalance, poison, slow-model, output-down
    soak       the real producer at a steady rate for minutes: RSS and lag slopes
    runner     one scenario in one mode: topics, consumers (subprocesses), progress, verdict
    audit      the independent read_committed audit: lost, duplicates, dead-letter reasons
    corpus     the poison corpus with the reason each item must get
    stream     the known input stream and its paced producer thread
    proc       `python -m consumer` as a child process; the /metrics scraper thread
    cluster    a fresh restartable broker per scenario (optionally SASL + ACLs); admin helpers
    reaper     kills what a run left behind if the run itself dies

The consumer side of the fault injection is `consumer.testing.faults` (CONSUMER_FAULT, off by
default).
`tests/integration/test_chaos_reduced.py` runs a reduced audit inside `make test`.
"""
