"""The jobs package has no import cycles: the code that enqueues (services) never imports the
actors (tasks) that run what it enqueued; it rings them by name, through the broker."""

from __future__ import annotations

import ast
from pathlib import Path

import portal.jobs

PACKAGE = "portal.jobs"


def _imports_of(path: Path, module: str) -> set[str]:
    """Every portal.jobs module `path` imports, at its top or inside a function (a late import
    is still a cycle: it only hides it until the first call)."""
    found: set[str] = set()
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, one level up per extra dot
                parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parts, *([base] if base else [])])
            # `from portal.jobs import tasks` imports the module portal.jobs.tasks.
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        found.update(name for name in names if name.startswith(f"{PACKAGE}."))
    return found


def _graph() -> dict[str, set[str]]:
    root = Path(portal.jobs.__file__).parent
    modules = {
        ".".join([PACKAGE, *path.relative_to(root).with_suffix("").parts]): path
        for path in root.rglob("*.py")
    }
    return {
        module: {name for name in _imports_of(path, module) if name in modules} - {module}
        for module, path in modules.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle, each once: found from its smallest module, through larger ones."""
    cycles: list[list[str]] = []

    def visit(module: str, trail: list[str]) -> None:
        for target in sorted(graph[module]):
            if target == trail[0]:
                cycles.append([*trail, target])
            elif target > trail[0] and target not in trail:
                visit(target, [*trail, target])

    for start in sorted(graph):
        visit(start, [start])
    return cycles


def test_the_graph_sees_a_late_import_inside_a_function() -> None:
    # The check below would pass vacuously if late imports went unseen: the embedded worker
    # imports the actors inside start_worker.
    assert "portal.jobs.tasks" in _graph()["portal.jobs.embedded"]


def test_the_job_services_and_the_actors_do_not_import_each_other() -> None:
    graph = _graph()
    assert "portal.jobs.services" in graph["portal.jobs.tasks"]  # the actors run the services
    assert "portal.jobs.tasks" not in graph["portal.jobs.services"]


def test_no_module_of_the_jobs_package_is_part_of_an_import_cycle() -> None:
    assert _cycles(_graph()) == []
