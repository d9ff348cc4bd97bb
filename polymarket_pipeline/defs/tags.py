"""The run tags the code location reads and writes, named once (the launcher, dagster.yaml's
concurrency limits and the UI's run filters all match on them)."""

SWEEP_TAG = "polymarket/sweep"
"""Every wallet and integrations job carries it (``hot``, ``cold``, ``backfill``, ``integrations``):
it picks the tier a run sweeps, and the concurrency limit in dagster.yaml that keeps two runs of
one kind apart."""
SHARD_TAG = "polymarket/shard"
"""``i/n``: the run sweeps only the wallets of static shard i of n (see ``cold_wallets_schedule``)."""
REASON_TAG = "polymarket/reason"
"""Why a sensor asked for a run (``feed_gap``: the hot feed had more fills than its page budget)."""
LAUNCHED_BY_TAG = "polymarket/launched_by"
"""``cli`` for runs the ``polymarket-pipeline`` command started in-process."""
