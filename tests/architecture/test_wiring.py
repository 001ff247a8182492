"""The floor plan's wiring: `build_services` (ains/services.py) builds every service once and
hands each its collaborators as constructor arguments. It never changes an object after
building it (``tasks.committer = …``, ``loop.passes.append(…)``), and no other module builds
what it builds (a DLQ or analytics service made per request) or imports its builders."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "ains"
SERVICES = PACKAGE / "services.py"
# who may import from ains.services more than the `Services` container, and why
MAY_BUILD = {
    "app.py",  # the application factory calls build_services
}
# modules that build some of the same classes on their own, and why
OWN_WIRING = {
    # the offline `ains cleanup` command prunes without a server: a MaintenanceService of its own
    "cli.py": {"MaintenanceService", "Database"},
}
# plain values build_services makes on the way, not collaborators
VALUES = {"Duty"}
MUTATORS = frozenset(
    {"append", "extend", "insert", "add", "update", "setdefault", "__setitem__", "__setattr__"}
)


def _function(tree: ast.Module, name: str) -> ast.FunctionDef:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return node
    raise AssertionError(f"{name} not found")


def _root(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def mutations_in(source: str, function: str = "build_services") -> list[str]:
    """`line: what` for each change made, inside ``function``, to an object it built: an
    attribute or item assigned, or a mutating method called on one of its attributes."""
    body = _function(ast.parse(source), function)
    built = {
        target.id
        for node in ast.walk(body)
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name)
    }
    found = []
    for node in ast.walk(body):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Attribute | ast.Subscript) and _root(target) in built:
                found.append(f"{node.lineno}: {ast.unparse(target)} = …")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in MUTATORS
            and isinstance(node.func.value, ast.Attribute | ast.Subscript)
            and _root(node.func.value) in built
        ):
            found.append(f"{node.lineno}: {ast.unparse(node.func)}(…)")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("setattr", "install_scheduler")
        ):
            found.append(f"{node.lineno}: {node.func.id}(…)")
    return found


def built_classes(source: str) -> set[str]:
    """The classes `build_services` constructs (called names that start with a capital)."""
    body = _function(ast.parse(source), "build_services")
    return {
        node.func.id
        for node in ast.walk(body)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id[:1].isupper()
        and node.func.id != "Services"
    } - VALUES


def wiring_breaches_in(source: str, built: set[str], allowed: set[str] | None = None) -> list[str]:
    """`line: what` for each import of a builder from ains.services (anything but the
    `Services` container) and each construction of a class that `build_services` builds."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module == "ains.services":
            for alias in node.names:
                if alias.name != "Services":
                    found.append(f"{node.lineno}: imports {alias.name} from ains.services")
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "ains.services":
                    found.append(f"{node.lineno}: imports ains.services")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in built - (allowed or set())
        ):
            found.append(f"{node.lineno}: builds its own {node.func.id}")
    return found


def test_build_services_only_passes_collaborators_to_constructors() -> None:
    found = mutations_in(SERVICES.read_text())
    assert not found, "build_services changes objects after building them:\n" + "\n".join(found)


def test_no_module_builds_services_of_its_own_or_imports_the_builders() -> None:
    built = built_classes(SERVICES.read_text())
    assert {"DlqService", "AnalyticsService", "TaskService", "DeadlineLoop"} <= built
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if path == SERVICES or relative in MAY_BUILD or relative.startswith("migrations/"):
            continue
        offenders += [
            f"ains/{relative}:{hit}"
            for hit in wiring_breaches_in(path.read_text(), built, OWN_WIRING.get(relative, set()))
        ]
    assert not offenders, "wiring outside build_services:\n" + "\n".join(offenders)


def test_the_mutation_finder_catches_each_kind() -> None:
    source = """
def build_services(settings):
    db = Database(settings.url)
    tasks = TaskService(settings)
    tasks.committer = GroupCommitter(db)
    deadlines = DeadlineLoop(db)
    deadlines.extra_passes.append(tasks.escalate)
    deadlines.hooks["x"] = tasks.escalate
    limits = RateLimits(settings)
    limits.count += 1
    install_scheduler(deadlines, tasks)
    bus.subscribe("x", tasks.poke)
    return Services(db=db, tasks=tasks, options=dict(a=1))
"""
    assert [hit.split(": ", 1)[1] for hit in mutations_in(source)] == [
        "tasks.committer = …",
        "deadlines.hooks['x'] = …",
        "limits.count = …",
        "deadlines.extra_passes.append(…)",
        "install_scheduler(…)",
    ]


def test_the_breach_finder_catches_builders_and_own_services() -> None:
    source = """
from ains.services import Services, build_services
import ains.services
def _dlq(services: Services):
    return DlqService(services.tasks, services.control, services.clock)
def fine(services: Services):
    return services.dlq
"""
    found = wiring_breaches_in(source, {"DlqService", "TaskService"})
    assert [hit.split(": ", 1)[1] for hit in found] == [
        "imports build_services from ains.services",
        "imports ains.services",
        "builds its own DlqService",
    ]
