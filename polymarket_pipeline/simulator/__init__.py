"""A local, seeded imitation of Polymarket's Data (v1 + v2), CLOB and Gamma APIs over real HTTP.

It lets the pipeline be developed, tested, demoed and benchmarked offline; see ``server`` for
the ways to run it and ``model`` for what it simulates.
"""
