"""SQLAlchemy listeners time statements by operation."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from ains.metrics.db import classify, instrument_engine


def count(operation: str) -> float:
    value = REGISTRY.get_sample_value(
        "ains_db_query_duration_seconds_count", {"operation": operation}
    )
    return value or 0.0


@pytest.mark.parametrize(
    ("sql", "operation"),
    [
        ("SELECT 1", "select"),
        ("  select * from t", "select"),
        ("(SELECT 1) UNION (SELECT 2)", "select"),
        ("INSERT INTO t VALUES (1)", "insert"),
        ("insert into t values (1) on conflict do nothing", "insert"),
        ("UPDATE t SET a = 1", "update"),
        ("DELETE FROM t", "delete"),
        ("/* claim */ UPDATE t SET a = 1", "update"),
        ("-- note\nDELETE FROM t", "delete"),
        ("WITH x AS (SELECT 1) SELECT * FROM x", "select"),
        ("WITH c AS (UPDATE t SET a = 1 RETURNING id) SELECT * FROM c", "update"),
        ("PRAGMA journal_mode=WAL", "other"),
        ("BEGIN", "other"),
        ("", "other"),
    ],
)
def test_classify(sql: str, operation: str) -> None:
    assert classify(sql) == operation


def test_listener_counts_each_operation() -> None:
    engine = create_engine("sqlite://")
    instrument_engine(engine)
    instrument_engine(engine)  # idempotent: still one observation per statement
    before = {op: count(op) for op in ("select", "insert", "update", "delete", "other")}
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER)"))
        conn.execute(text("INSERT INTO t (a) VALUES (:a)"), [{"a": 1}, {"a": 2}])
        conn.execute(text("INSERT INTO t (a) VALUES (3)"))
        conn.execute(text("SELECT * FROM t")).all()
        conn.execute(text("SELECT count(*) FROM t")).scalar()
        conn.execute(text("UPDATE t SET a = a + 1"))
        conn.execute(text("DELETE FROM t WHERE a > 3"))
    delta = {op: count(op) - value for op, value in before.items()}
    assert delta["insert"] == 2  # an executemany is one statement
    assert delta["select"] == 2
    assert delta["update"] == 1
    assert delta["delete"] == 1
    assert delta["other"] >= 1  # CREATE TABLE
    engine.dispose()


def test_failed_statement_does_not_skew_the_next() -> None:
    engine = create_engine("sqlite://")
    instrument_engine(engine)
    before = count("select")
    with engine.connect() as conn:
        with pytest.raises(OperationalError):
            conn.execute(text("SELECT * FROM missing"))
        conn.execute(text("SELECT 1"))
    assert count("select") - before == 1
    engine.dispose()
