"""One database seam: only `ains/db/dialect.py` knows which database it talks to.

Walks the syntax tree of every module of `ains/` and fails where a module asks for the
dialect itself: `conn.dialect.name`, an `is_sqlite`/`is_postgres` flag, a `"postgresql"` or
`"sqlite"` name, a URL prefix test (`url.startswith("sqlite")`, `"postgres" in url`), or an
import of `sqlalchemy.dialects`."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "ains"

DIALECT_NAMES = frozenset({"sqlite", "postgresql", "postgres"})
DIALECT_FLAGS = frozenset({"is_sqlite", "is_postgres", "is_postgresql", "is_pg", "_is_pg"})
SEAM = "db/dialect.py"
# frozen history: each migration must keep working as written, without live code
ALLOWED_FOLDERS = {"migrations"}


def _names_a_dialect(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value.lower()
        return any(text.startswith(name) for name in DIALECT_NAMES)
    if isinstance(node, ast.Tuple):
        return any(_names_a_dialect(e) for e in node.elts)
    return False


class _Finder(ast.NodeVisitor):
    def __init__(self) -> None:
        self.found: list[str] = []

    def _hit(self, node: ast.AST, what: str) -> None:
        self.found.append(f"{getattr(node, 'lineno', 0)}: {what}")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        owner = node.value
        owner_name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
        if node.attr == "name" and owner_name == "dialect":
            self._hit(node, "dialect.name")
        if node.attr in DIALECT_FLAGS:
            self._hit(node, node.attr)
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in DIALECT_FLAGS:
            self._hit(node, node.id)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if node.name in DIALECT_FLAGS:
            self._hit(node, f"def {node.name}")
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and node.value.lower() in DIALECT_NAMES:
            self._hit(node, repr(node.value))

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr in ("startswith", "endswith")
            and any(_names_a_dialect(a) for a in node.args)
        ):
            self._hit(node, f".{func.attr}(<dialect>)")
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        pieces = [node.left, *node.comparators]
        if any(isinstance(op, ast.In | ast.NotIn) for op in node.ops) and any(
            _names_a_dialect(p) for p in pieces
        ):
            self._hit(node, "<dialect> in …")
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if (node.module or "").startswith("sqlalchemy.dialects"):
            self._hit(node, f"from {node.module} import …")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.startswith("sqlalchemy.dialects"):
                self._hit(node, f"import {alias.name}")


def dialect_branches_in(source: str) -> list[str]:
    finder = _Finder()
    finder.visit(ast.parse(source))
    return finder.found


def _checked_modules() -> list[Path]:
    return [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).as_posix() != SEAM
        and path.relative_to(PACKAGE).parts[0] not in ALLOWED_FOLDERS
    ]


def test_only_the_seam_knows_the_dialect() -> None:
    offenders = [
        f"ains/{path.relative_to(PACKAGE).as_posix()}:{hit}"
        for path in _checked_modules()
        for hit in dialect_branches_in(path.read_text())
    ]
    assert not offenders, "dialect branches outside ains/db/dialect.py:\n" + "\n".join(offenders)


def test_the_seam_exists_and_the_check_sees_the_package() -> None:
    assert (PACKAGE / SEAM).is_file()
    assert len(_checked_modules()) > 50


def test_the_finder_catches_every_kind_of_branch() -> None:
    source = """
from sqlalchemy.dialects import postgresql
if conn.dialect.name == "postgresql":
    pass
if db.is_sqlite:
    pass
if url.startswith(("postgresql", "postgres")):
    pass
if "sqlite" in url:
    pass
JSON = sa.JSON().with_variant(JSONB(), "postgresql")
def _is_pg(conn):
    return dialect.name == "postgresql"
"""
    kinds = [hit.split(": ", 1)[1] for hit in dialect_branches_in(source)]
    assert kinds == [
        "from sqlalchemy.dialects import …",
        "dialect.name",
        "'postgresql'",
        "is_sqlite",
        ".startswith(<dialect>)",
        "'postgresql'",
        "'postgres'",
        "<dialect> in …",
        "'sqlite'",
        "'postgresql'",
        "def _is_pg",
        "dialect.name",
        "'postgresql'",
    ]


def test_the_finder_leaves_other_code_alone() -> None:
    source = """
from ains.db import dialect
stmt = dialect.for_update(conn, stmt)
name = settings.name
message = "use PostgreSQL (AINS_DATABASE_URL=postgresql://…) to run several"
DEFAULT_URL = "sqlite:///./ains.db"
"""
    assert dialect_branches_in(source) == []
