"""Test modules stand alone (issue 14, item 6): what two of them share lives in tests/helpers or
tests/factories, never in one test module imported by another, so a test file can be moved,
renamed or deleted without breaking a neighbour it never mentions."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"


def _is_test_module(dotted: str) -> bool:
    parts = dotted.split(".")
    return parts[0] == "tests" and parts[-1].startswith("test_")


def _package(path: Path) -> list[str]:
    # The dotted package a file under the repository root sits in, for relative imports.
    return list(path.relative_to(ROOT).with_suffix("").parts[:-1])


def imports_of_test_modules(source: str, path: Path) -> list[tuple[int, str]]:
    """(line, module) for each import in `source` that names a tests...test_* module."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if _is_test_module(a.name)]
        elif isinstance(node, ast.ImportFrom):
            base = (node.module or "").split(".") if node.module else []
            if node.level:
                package = _package(path)
                package = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                base = package + base
            module = ".".join(base)
            if _is_test_module(module):
                found.append((node.lineno, module))
            else:  # `from tests.x import test_y` imports the module test_y, if it is a file
                found += [
                    (node.lineno, f"{module}.{a.name}")
                    for a in node.names
                    if _is_test_module(f"{module}.{a.name}")
                    and ROOT.joinpath(*base, f"{a.name}.py").is_file()
                ]
    return found


def test_the_walker_sees_every_spelling_of_such_an_import() -> None:
    # Without this, a walker that found nothing would pass the check below vacuously.
    source = (
        "from tests.renderer.test_manifest import cli\n"
        "import tests.mixes.test_api as api\n"
        "from tests.stems import test_provenance\n"
        "from .test_bwf import STEMS_META\n"
        "from tests.conftest import need, test_database_url\n"
        "from tests.helpers.manifests import cli\n"
    )
    found = imports_of_test_modules(source, TESTS / "renderer" / "test_x.py")
    assert found == [
        (1, "tests.renderer.test_manifest"),
        (2, "tests.mixes.test_api"),
        (3, "tests.stems.test_provenance"),
        (4, "tests.renderer.test_bwf"),
    ]


def test_no_test_module_imports_another_test_module() -> None:
    files = sorted(TESTS.rglob("*.py"))
    assert len(files) > 50
    offending = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in files
        for line, module in imports_of_test_modules(path.read_text(), path)
    ]
    assert offending == [], (
        "move what these share into tests/helpers or tests/factories:\n" + "\n".join(offending)
    )
