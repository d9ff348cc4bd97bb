"""``python -m polymarket_pipeline.simulator``: serve the simulator until interrupted.

Prints the three ``export POLYMARKET_*_API_URL=…`` lines once it accepts connections (the
SimulatorProcess helper waits for them).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from polymarket_pipeline.simulator.journal import StateFileError
from polymarket_pipeline.simulator.server import (
    add_config_arguments,
    config_from_args,
    export_lines,
    serve_forever,
)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m polymarket_pipeline.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = any free port")
    parser.add_argument("--log-level", default="warning")
    add_config_arguments(parser)
    args = parser.parse_args(argv)

    def on_ready(base_url: str) -> None:
        for line in export_lines(base_url):
            print(line, flush=True)

    try:
        serve_forever(args.host, args.port, config_from_args(args), on_ready, log_level=args.log_level)
    except StateFileError as exc:  # a state file written under other options, or in use
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
