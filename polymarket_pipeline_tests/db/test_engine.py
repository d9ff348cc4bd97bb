from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from polymarket_pipeline.db.engine import DatabaseConfigError, create_db_engine, reading
from polymarket_pipeline.db.migrate import upgrade
from polymarket_pipeline.db.trades import upsert_trades
from polymarket_pipeline.domain.fills import key_fills
from polymarket_pipeline.domain.records import Fill


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'nested' / 'app.sqlite'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    engine.dispose()


def test_two_sqlite_writers_at_once_both_commit(tmp_path: Path) -> None:
    """The sensor (code server), runs and the CLI write the same SQLite file concurrently."""
    url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    setup = create_db_engine(url)
    upgrade(setup)
    setup.dispose()
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        engine = create_db_engine(url)  # its own engine and connections, as a separate process has
        try:
            for batch in range(20):
                fills = [
                    Fill(
                        wallet_address=f"0x{n:040x}", side="BUY", asset=str(i),
                        condition_id="0x" + "1" * 64, size=1.0 + i, price=0.5,
                        timestamp=1_700_000_000 + batch, transaction_hash=f"0x{batch:064x}",
                    )
                    for i in range(200)
                ]  # fmt: skip
                with engine.begin() as connection:
                    # read-then-write in one transaction: the pattern that fails without BEGIN IMMEDIATE
                    connection.exec_driver_sql("SELECT count(*) FROM trades_public").scalar()
                    upsert_trades(connection, key_fills(fills), datetime.now(UTC))
        except BaseException as exc:
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    check = create_db_engine(url)
    with check.connect() as connection:
        assert connection.scalar(sa.text("SELECT count(*) FROM trades_public")) == 3 * 20 * 200
    check.dispose()


@pytest.mark.parametrize("url", ["mysql://x@y/z", "not a url"])
def test_unsupported_or_invalid_urls_are_rejected(url: str) -> None:
    with pytest.raises(DatabaseConfigError):
        create_db_engine(url)


def test_an_open_read_does_not_block_a_writer_on_sqlite(tmp_path: Path) -> None:
    """The hot sensor reads its cursors while a sweep writes: reads must not hold the write lock."""
    url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    reader_engine, writer_engine = create_db_engine(url), create_db_engine(url)
    upgrade(reader_engine)
    with reading(reader_engine) as reader:
        assert reader.scalar(sa.text("SELECT count(*) FROM wallet_poll_state")) == 0
        started = time.monotonic()
        with writer_engine.begin() as writer:  # a blocked writer would wait the 30 s busy timeout
            writer.execute(sa.text("INSERT INTO wallet_poll_state (wallet_address) VALUES ('0x1')"))
        assert time.monotonic() - started < 1
        assert reader.scalar(sa.text("SELECT count(*) FROM wallet_poll_state")) == 0  # its snapshot
    with reading(reader_engine) as reader:
        assert reader.scalar(sa.text("SELECT count(*) FROM wallet_poll_state")) == 1
    reader_engine.dispose()
    writer_engine.dispose()
