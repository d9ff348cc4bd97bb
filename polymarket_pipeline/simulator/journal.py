"""The state file: the live state survives a restart as seed + clock anchor + a journal of changes.

Everything the model does after start-up (live and injected trades, resolutions, archives,
redeems, closes, splits, merges, conversions, rewards, token transfers, PnL skews, new wallets)
is a deterministic function of the seeded history, the order of calls and their arguments. So
the file holds a header (the data-shaping config and the history's ``start_time``) and one JSON
line per successful change, with every timestamp resolved; a restart rebuilds the history and
replays the lines, and serves exactly the same fills, positions, closes and PnL series (cursors
too: their key derives from the seed).

Lines are appended and flushed as changes happen (a crash loses at most the line being written,
which is dropped on the next start), and the file is fsynced and unlocked at shutdown. An
exclusive lock keeps two simulators from writing one file.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass, field
from typing import IO, Any

from polymarket_pipeline.simulator.config import SimulatorConfig, data_fields, default_of

FORMAT = 1


class StateFileError(ValueError):
    """The state file cannot be used: unreadable, locked, or written under another configuration."""


@dataclass
class JournalState:
    """What a state file held: its history anchor and the changes to replay (empty when new)."""

    start_time: int | None = None
    entries: list[dict[str, Any]] = field(default_factory=list)
    valid_bytes: int = 0


def read_state(path: str, config: SimulatorConfig) -> JournalState:
    """Read and check a state file; a missing or empty file is a fresh start."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        return JournalState()
    except OSError as exc:
        raise StateFileError(f"cannot read the state file {path}: {exc.strerror or exc}") from None
    lines = raw.split(b"\n")
    complete = lines[:-1]  # the part after the last newline is a line cut short by a crash (or empty)
    if not complete:
        return JournalState()
    try:
        header = json.loads(complete[0])
    except ValueError:
        raise StateFileError(f"{path} is not a simulator state file (bad first line)") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise StateFileError(f"{path} is not a simulator state file of format {FORMAT}")
    stored = header.get("config") or {}
    wanted = json.loads(json.dumps(data_fields(config)))
    stored = {k: stored.get(k, default_of(k)) for k in wanted} | stored
    differing = sorted(k for k in set(stored) | set(wanted) if stored.get(k) != wanted.get(k))
    if differing:
        shown = ", ".join(f"{k}={stored.get(k)!r}" for k in differing)
        raise StateFileError(
            f"{path} was written by a simulator started with {shown}; start with the same options "
            "or use another state file"
        )
    start_time = int(header["start_time"])
    if config.start_time is not None and int(config.start_time) != start_time:
        raise StateFileError(
            f"{path} anchors the history at start_time={start_time}, not {config.start_time}; "
            "drop --start-time or use another state file"
        )
    entries: list[dict[str, Any]] = []
    for number, line in enumerate(complete[1:], start=2):
        try:
            entry = json.loads(line)
        except ValueError:
            raise StateFileError(f"{path}: line {number} is not JSON") from None
        if not isinstance(entry, dict) or not isinstance(entry.get("op"), str):
            raise StateFileError(f"{path}: line {number} is not a journal entry")
        entries.append(entry)
    valid = sum(len(line) + 1 for line in complete)
    return JournalState(start_time, entries, valid)


class Journal:
    """The open, locked state file; ``record`` appends one change."""

    def __init__(self, path: str, fh: IO[str]) -> None:
        self.path = path
        self._fh: IO[str] | None = fh
        self.entries = 0

    @classmethod
    def open(cls, path: str, config: SimulatorConfig, state: JournalState, start_time: int) -> Journal:
        """Lock the file, drop a torn last line, and write the header if the file is new."""
        directory = os.path.dirname(os.path.abspath(path))
        try:
            os.makedirs(directory, exist_ok=True)
            fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - kept open for the server's life
        except OSError as exc:
            raise StateFileError(f"cannot open the state file {path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise StateFileError(f"{path} is in use by another simulator") from None
        fh.truncate(state.valid_bytes)
        fh.seek(state.valid_bytes)
        journal = cls(path, fh)
        if state.valid_bytes == 0:
            journal._write({"format": FORMAT, "config": data_fields(config), "start_time": start_time})
        journal.entries = len(state.entries)
        return journal

    def record(self, op: str, **args: Any) -> None:
        self._write({"op": op, **args})
        self.entries += 1

    def _write(self, entry: dict[str, Any]) -> None:
        if self._fh is None:
            raise StateFileError(f"the state file {self.path} is closed")
        self._fh.write(json.dumps(entry, separators=(",", ":")) + "\n")
        self._fh.flush()

    def close(self) -> None:
        fh, self._fh = self._fh, None
        if fh is None:
            return
        fh.flush()
        os.fsync(fh.fileno())
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()
