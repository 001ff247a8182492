"""Guarded state changes take their allowed states from `ains/tasks/states.py`.

Walks the syntax tree of every module of `ains/` but `tasks/states.py`, and fails where a
hand-written list of task states guards a statement (`.in_([…])`, `status_in((…))`,
`statuses=[…]`, `update_guarded`/`complete_many`/`due` given a literal) or is kept in a
module constant for one (`QUEUED = [TaskStatus.PENDING, …]`). Such lists are written only
inside `guard(…, among=…)`, which checks them against the lifecycle's `TRANSITIONS`; every
`update_guarded` call takes `guard(…)` or `still_in(…)`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ains.tasks.states import (
    ACTIVE,
    HELD,
    RETRYABLE,
    TERMINAL,
    TRANSITIONS,
    UNSUCCESSFUL,
    WAITING,
    TaskStatus,
    guard,
    sources_of,
    still_in,
)

PACKAGE = Path(__file__).resolve().parents[2] / "ains"
STATES = "tasks/states.py"
STATUS_NAMES = frozenset(s.value for s in TaskStatus)
STATUS_ENUMS = frozenset({"TaskStatus", "S"})
FILTERS = frozenset({"in_", "not_in", "status_in"})
# name → (position of the states argument, positional arity); None: the `statuses=` keyword.
# The arity tells `tasks.repository.due` (5 arguments) from `schedules.repository.due` (3).
GUARDED_CALLS: dict[str, tuple[int, int] | None] = {
    "update_guarded": None,
    "complete_many": (2, 3),
    "due": (2, 5),
}
GUARD_MAKERS = frozenset({"guard", "still_in"})
COLLECTION_CALLS = frozenset({"sorted", "tuple", "list", "set", "frozenset"})


def _call_name(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _is_status(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return node.value in STATUS_NAMES
    if isinstance(node, ast.Attribute):
        if node.attr == "value":
            return _is_status(node.value)
        return isinstance(node.value, ast.Name) and node.value.id in STATUS_ENUMS
    return False


def _raw_status_list(node: ast.expr) -> bool:
    """A literal collection of task states (or a comprehension or `sorted(…)` of one)."""
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return any(_is_status(e) for e in node.elts)
    if isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp):
        return any(_raw_status_list(g.iter) for g in node.generators)
    if isinstance(node, ast.Call) and _call_name(node) in COLLECTION_CALLS:
        return any(_raw_status_list(a) for a in node.args)
    return False


def _makes_a_guard(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and _call_name(node) in GUARD_MAKERS


class _Finder(ast.NodeVisitor):
    def __init__(self) -> None:
        self.found: list[str] = []
        self.guard_constants: set[str] = set()  # module names bound to guard(…)/still_in(…)

    def _hit(self, node: ast.AST, what: str) -> None:
        self.found.append(f"{getattr(node, 'lineno', 0)}: {what}")

    def visit_Module(self, node: ast.Module) -> None:
        for statement in node.body:
            if isinstance(statement, ast.Assign | ast.AnnAssign) and statement.value is not None:
                if _raw_status_list(statement.value):
                    self._hit(statement, "a module constant listing task states")
                if _makes_a_guard(statement.value):
                    targets = statement.targets if isinstance(statement, ast.Assign) else []
                    self.guard_constants.update(t.id for t in targets if isinstance(t, ast.Name))
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = _call_name(node)
        if name in GUARD_MAKERS:
            return  # `among=` lists are checked against TRANSITIONS by `guard` itself
        if name in FILTERS and any(_raw_status_list(a) for a in node.args):
            self._hit(node, f"{name}(<raw list of states>)")
        for keyword in node.keywords:
            if keyword.arg == "statuses" and _raw_status_list(keyword.value):
                self._hit(node, "statuses=<raw list of states>")
        if name in GUARDED_CALLS:
            self._check_guarded_call(node, name)
        self.generic_visit(node)

    def _check_guarded_call(self, node: ast.Call, name: str) -> None:
        shape = GUARDED_CALLS[name]
        if shape is None:
            given = next((k.value for k in node.keywords if k.arg == "statuses"), None)
        else:
            position, arity = shape
            given = node.args[position] if len(node.args) == arity else None
        named = isinstance(given, ast.Name) and given.id in self.guard_constants
        if given is not None and not (_makes_a_guard(given) or named):
            self._hit(node, f"{name} without guard()/still_in()")


def raw_guards_in(source: str) -> list[str]:
    finder = _Finder()
    finder.visit(ast.parse(source))
    return finder.found


def test_guards_come_from_the_state_machine() -> None:
    offenders = [
        f"ains/{path.relative_to(PACKAGE).as_posix()}:{hit}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).as_posix() != STATES
        and path.relative_to(PACKAGE).parts[0] != "migrations"
        for hit in raw_guards_in(path.read_text())
    ]
    assert not offenders, "raw status lists guarding statements:\n" + "\n".join(offenders)


def test_the_finder_catches_raw_guards() -> None:
    source = """
QUEUED = [TaskStatus.PENDING.value, TaskStatus.BLOCKED.value]
FAILED_ONES = ("FAILED", "TIMED_OUT")
stmt = sa.update(tasks).where(T.status.in_([TaskStatus.PENDING, TaskStatus.ASSIGNED]))
await repo.update_guarded(conn, task_id, statuses=[TaskStatus.BLOCKED], values=v)
await repo.update_guarded(conn, task_id, statuses=HELD_STATES, values=v)
await repo.complete_many(conn, items, (S.ASSIGNED, S.RUNNING))
rows = status_in(sorted([S.RUNNING]))
"""
    kinds = [hit.split(": ", 1)[1] for hit in raw_guards_in(source)]
    assert kinds == [
        "a module constant listing task states",
        "a module constant listing task states",
        "in_(<raw list of states>)",
        "statuses=<raw list of states>",
        "update_guarded without guard()/still_in()",
        "update_guarded without guard()/still_in()",
        "complete_many without guard()/still_in()",
        "status_in(<raw list of states>)",
    ]


def test_the_finder_accepts_guards_from_the_state_machine() -> None:
    source = """
RETRY_DUE = guard(TaskStatus.PENDING, among=[TaskStatus.RETRY_SCHEDULED])
QUEUED = sorted(s.value for s in WAITING)
await repo.update_guarded(conn, task_id, statuses=RETRY_DUE, values=v)
await repo.update_guarded(conn, task_id, statuses=guard(TaskStatus.CANCELLED), values=v)
await repo.update_guarded(conn, task_id, statuses=still_in(row.status), values=v)
await repo.complete_many(conn, items, guard(TaskStatus.COMPLETED))
stmt = sa.select(tasks).where(T.status.in_(sorted(HELD)), T.kind.in_(["a", "b"]))
"""
    assert raw_guards_in(source) == []


# --- the state machine itself ------------------------------------------------------------------


def test_guard_without_among_is_every_allowed_source() -> None:
    assert guard(TaskStatus.CANCELLED) == sorted(s.value for s in ACTIVE)
    assert guard(TaskStatus.COMPLETED) == sorted(s.value for s in HELD)
    assert guard(TaskStatus.RUNNING) == ["ASSIGNED"]
    assert guard(TaskStatus.CANCELLED) == sources_of(TaskStatus.CANCELLED)


def test_guard_narrows_to_allowed_sources_only() -> None:
    assert guard(TaskStatus.CANCELLED, among=[TaskStatus.BLOCKED]) == ["BLOCKED"]
    assert guard(TaskStatus.PENDING, among=["RETRY_SCHEDULED", "ASSIGNED"]) == [
        "ASSIGNED",
        "RETRY_SCHEDULED",
    ]
    with pytest.raises(ValueError, match="COMPLETED to PENDING"):
        guard(TaskStatus.PENDING, among=[TaskStatus.COMPLETED])
    with pytest.raises(ValueError, match="PENDING to RUNNING"):
        guard(TaskStatus.RUNNING, among=[TaskStatus.PENDING])


def test_still_in_keeps_the_given_states() -> None:
    assert still_in(*HELD) == ["ASSIGNED", "RUNNING"]
    assert still_in("RUNNING", TaskStatus.RUNNING) == ["RUNNING"]
    with pytest.raises(ValueError):
        still_in("DONE")


def test_named_sets_follow_the_lifecycle() -> None:
    assert all(not TRANSITIONS[s] or s in RETRYABLE for s in TERMINAL)
    assert RETRYABLE == UNSUCCESSFUL
    assert {TaskStatus.PENDING, TaskStatus.BLOCKED, TaskStatus.RETRY_SCHEDULED} == WAITING
    for source in RETRYABLE:  # a manual retry waits for unfinished dependencies
        assert TRANSITIONS[source] == {TaskStatus.PENDING, TaskStatus.BLOCKED}
    assert TRANSITIONS[TaskStatus.COMPLETED] == frozenset()
