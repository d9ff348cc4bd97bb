"""A local, seeded imitation of Polymarket's Data (v1 + v2), CLOB and Gamma APIs over real HTTP.

It lets the pipeline be developed, tested, demoed and benchmarked offline, and it serves what the
live APIs were recorded serving (``/work/shared/real_payloads``), quirks and all. ``server`` runs
it (thread, foreground, subprocess); ``model`` is the state it serves (and names the modules
that hold each part); ``routes_*`` are the APIs; ``faults``, ``edgecache`` and ``journal`` are the
hostile edges, Cloudflare's cache and the state file; ``admin`` is the ``/_sim`` control plane.
PnL is Polymarket's own (``accounting``: the pnl-subgraph's weighted-average cost, in chain
order; ``pnl_series``: ``/v2/user-pnl`` and the ground truth), computed independently of the
pipeline's ``domain`` code so that it can check it.
"""
