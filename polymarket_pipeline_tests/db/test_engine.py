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


@pytest.mark.parametrize("url", ["mysql://x@y/z", "not a url", "postgresql+asyncpg://x@y/z"])
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


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+asyncpg://app:pw-123@h/db", "'postgresql+asyncpg'"),
        ("postgresql+psycopg2://app:pw-123@h/db", "'postgresql+psycopg2'"),
        ("mysql://app:pw-123@h/db", "'mysql'"),
    ],
)
def test_unsupported_drivers_are_named_with_the_supported_list(url: str, expected: str) -> None:
    with pytest.raises(DatabaseConfigError) as raised:
        create_db_engine(url)
    message = str(raised.value)
    assert expected in message
    assert "sqlite://" in message
    assert "postgresql+psycopg://" in message
    assert "pw-123" not in message


@pytest.mark.postgres
def test_postgres_connections_carry_the_statement_and_lock_timeouts(pg_url: str) -> None:
    engine = create_db_engine(pg_url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SHOW statement_timeout").scalar() == "1min"
        assert connection.exec_driver_sql("SHOW lock_timeout").scalar() == "10s"
    engine.dispose()


@pytest.mark.postgres
def test_postgres_timeouts_come_from_the_settings(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYMARKET_DATABASE_STATEMENT_TIMEOUT_MS", "1500")
    monkeypatch.setenv("POLYMARKET_DATABASE_LOCK_TIMEOUT_MS", "0")
    engine = create_db_engine(pg_url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SHOW statement_timeout").scalar() == "1500ms"
        assert connection.exec_driver_sql("SHOW lock_timeout").scalar() == "0"
    engine.dispose()


@pytest.mark.postgres
def test_a_runaway_statement_is_cancelled(pg_url: str) -> None:
    engine = create_db_engine(pg_url, statement_timeout_ms=300)
    started = time.monotonic()
    with engine.connect() as connection, pytest.raises(sa.exc.OperationalError, match="statement timeout"):
        connection.exec_driver_sql("SELECT pg_sleep(30)")
    assert time.monotonic() - started < 5
    engine.dispose()


@pytest.mark.postgres
def test_a_wait_for_a_held_lock_is_bounded(pg_url: str) -> None:
    """A writer queued behind a stuck transaction fails after lock_timeout instead of hanging."""
    holder_engine = create_db_engine(pg_url)
    upgrade(holder_engine)
    waiter_engine = create_db_engine(pg_url, lock_timeout_ms=300)
    with holder_engine.begin() as holder:
        holder.execute(sa.text("INSERT INTO wallet_poll_state (wallet_address) VALUES ('0x1')"))
        started = time.monotonic()
        with waiter_engine.begin() as waiter, pytest.raises(sa.exc.OperationalError, match="lock timeout"):
            waiter.execute(sa.text("LOCK TABLE wallet_poll_state IN ACCESS EXCLUSIVE MODE"))
        assert time.monotonic() - started < 5
    holder_engine.dispose()
    waiter_engine.dispose()
