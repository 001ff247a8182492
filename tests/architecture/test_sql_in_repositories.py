"""The floor plan: SQL statements are built only in `repository.py` modules.

Walks the syntax tree of every module of `ains/` and fails on a statement builder (SQLAlchemy's
select/insert/update/delete/text/union/exists, a `func.*` call, a table's own `.insert()` …, a
dialect `insert`, raw SQL given to `exec_driver_sql`) anywhere else, and on raw SQL text (a string
starting with SELECT, INSERT, NOTIFY, BEGIN … — written in place or bound to a name first) given
to a driver's execute/fetch methods: the statements of raw driver connections (asyncpg, sqlite3)
live in `ains/db/repository.py`."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "ains"

BUILDERS = frozenset(
    {
        "select",
        "insert",
        "update",
        "delete",
        "text",
        "union",
        "union_all",
        "intersect",
        "except_",
        "exists",
        "lateral",
        "values",
    }
)
SQLALCHEMY_NAMES = frozenset({"sa", "sqlalchemy", "postgresql", "sqlite"})
TABLE_METHODS = frozenset({"select", "insert", "update", "delete"})
SCHEMA_CALLS = frozenset({"Index", "Column", "CheckConstraint", "Table"})
# the methods of SQLAlchemy, asyncpg and sqlite3 connections and cursors that run SQL text
EXECUTORS = frozenset(
    {
        "execute",
        "executemany",
        "executescript",
        "fetch",
        "fetchrow",
        "fetchval",
        "scalar",
        "scalars",
        "stream",
        "copy_to_table",
    }
)
RAW_SQL = re.compile(
    r"\s*(SELECT|INSERT|UPDATE|DELETE|WITH|MERGE|LISTEN|UNLISTEN|NOTIFY|BEGIN|COMMIT|ROLLBACK|"
    r"SAVEPOINT|PRAGMA|CREATE|DROP|ALTER|TRUNCATE|VACUUM|ANALYZE|REINDEX|SET|SHOW|COPY|LOCK)\b",
    re.IGNORECASE,
)


def _leading_text(node: ast.expr) -> str | None:
    """The text a string expression starts with: a literal, or an f-string's first part."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values:
        return _leading_text(node.values[0])
    return None


def _is_raw_sql(node: ast.expr) -> bool:
    text = _leading_text(node)
    return text is not None and RAW_SQL.match(text) is not None


# Not repositories, yet allowed to hold SQL, and why:
ALLOWED = {
    # the database seam: the few statements whose very text differs between the databases
    # (advisory locks, database size), and the readiness ping of `Database`
    "db/dialect.py",
    "db/engine.py",
}
ALLOWED_FOLDERS = {
    # frozen history: each migration must keep working as written, without live code
    "migrations",
}


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


class _Finder(ast.NodeVisitor):
    """Collects `line: builder` for each statement builder call; `text()` inside a schema
    definition (an index expression, a column default) is DDL, not a statement."""

    def __init__(self, sql_names: frozenset[str] = frozenset()) -> None:
        self.found: list[str] = []
        self._schema_depth = 0
        self._sql_names = sql_names  # names bound to raw SQL text somewhere in the module

    def visit_Call(self, node: ast.Call) -> None:
        schema = _name(node.func) in SCHEMA_CALLS
        self._schema_depth += schema
        builder = self._builder(node) or self._raw_sql(node)
        if builder and not (builder.endswith(".text") and self._schema_depth):
            self.found.append(f"{node.lineno}: {builder}")
        self.generic_visit(node)
        self._schema_depth -= schema

    def _raw_sql(self, call: ast.Call) -> str | None:
        func = call.func
        if not (isinstance(func, ast.Attribute) and func.attr in EXECUTORS and call.args):
            return None
        first = call.args[0]
        if _is_raw_sql(first) or (isinstance(first, ast.Name) and first.id in self._sql_names):
            return f"raw SQL to .{func.attr}()"
        return None

    @staticmethod
    def _builder(call: ast.Call) -> str | None:
        func = call.func
        if isinstance(func, ast.Name) and func.id in BUILDERS:
            return func.id
        if not isinstance(func, ast.Attribute):
            return None
        owner = func.value
        if isinstance(owner, ast.Name) and owner.id in SQLALCHEMY_NAMES and func.attr in BUILDERS:
            return f"{owner.id}.{func.attr}"
        if isinstance(owner, ast.Attribute) and owner.attr == "func":
            return f"func.{func.attr}"
        if func.attr == "exec_driver_sql":
            return "exec_driver_sql"
        if func.attr in TABLE_METHODS and not call.args and not call.keywords:
            return f".{func.attr}()"  # a Table's own statement: `tasks.update()`
        return None


def _sql_names(tree: ast.Module) -> frozenset[str]:
    return frozenset(
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and _is_raw_sql(node.value)
        for target in node.targets
        if isinstance(target, ast.Name)
    )


def builders_in(source: str) -> list[str]:
    tree = ast.parse(source)
    finder = _Finder(_sql_names(tree))
    finder.visit(tree)
    return finder.found


def _checked_modules() -> list[Path]:
    modules = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if path.name == "repository.py" or relative.as_posix() in ALLOWED:
            continue
        if relative.parts[0] in ALLOWED_FOLDERS:
            continue
        modules.append(path)
    return modules


def test_statement_builders_live_only_in_repositories() -> None:
    offenders = [
        f"ains/{path.relative_to(PACKAGE).as_posix()}:{hit}"
        for path in _checked_modules()
        for hit in builders_in(path.read_text())
    ]
    assert not offenders, "SQL outside a repository.py:\n" + "\n".join(offenders)


def test_the_check_sees_the_package() -> None:
    assert len(_checked_modules()) > 50


def test_the_finder_catches_every_kind_of_builder() -> None:
    source = """
import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.dialects import postgresql
async def f(conn):
    await conn.execute(sa.select(tasks).where(x))
    await conn.execute(select(tasks))
    await conn.execute(sa.update(tasks).values(a=1))
    await conn.execute(tasks.delete())
    await conn.execute(postgresql.insert(tasks))
    await conn.scalar(sa.text("SELECT 1"))
    await conn.scalar(sa.select(sa.func.count()))
    await conn.exec_driver_sql("SELECT 1")
    sa.union_all(a, b)
"""
    kinds = [hit.split(": ", 1)[1] for hit in builders_in(source)]
    assert kinds == [
        "sa.select",
        "select",
        "sa.update",
        ".delete()",
        "postgresql.insert",
        "sa.text",
        "sa.select",
        "func.count",
        "exec_driver_sql",
        "sa.union_all",
    ]


def test_the_finder_leaves_schema_text_and_plain_code_alone() -> None:
    source = """
import sqlalchemy as sa
t = sa.Table("t", m, sa.Column("a", server_default=sa.text("0")))
i = sa.Index("ix", "a", sa.text("a DESC"), sqlite_where=sa.text("a > 0"))
total = sum(counts.values())
d.update(other)
"""
    assert builders_in(source) == []


def test_the_finder_catches_raw_sql_given_to_a_driver() -> None:
    source = """
NOTIFY = "SELECT pg_notify($1, m) FROM unnest($2::text[]) AS m"
async def f(conn, raw, cur):
    await raw.execute(NOTIFY, "ains_bus", messages)
    await raw.execute("LISTEN ains_bus")
    await raw.fetchrow("select 1")
    cur.execute("BEGIN IMMEDIATE")
    await raw.fetch(f"DELETE FROM {table}")
    await raw.fetchval(\"""
        WITH x AS (SELECT 1) SELECT * FROM x\""")
"""
    kinds = [hit.split(": ", 1)[1] for hit in builders_in(source)]
    assert kinds == [
        "raw SQL to .execute()",
        "raw SQL to .execute()",
        "raw SQL to .fetchrow()",
        "raw SQL to .execute()",
        "raw SQL to .fetch()",
        "raw SQL to .fetchval()",
    ]


def test_the_finder_leaves_plain_strings_given_to_executors_alone() -> None:
    source = """
async def f(conn, tx, registry):
    await conn.execute(statement)
    registry.execute("selected agents")
    log.info("SELECT took %s", t)
    await tx.execute(repository.claim(ids))
"""
    assert builders_in(source) == []
