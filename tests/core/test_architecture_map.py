"""The map matches the house: ARCHITECTURE.md's layers are the import-linter layers contract, and
its layout (and the README's) names every top-level package of portal/ and renderer/ and no path
that does not exist. A map that drifts from the tree misleads the next reader more than no map."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURE = ROOT / "ARCHITECTURE.md"
README = ROOT / "README.md"
# The folders at the root a layout speaks of; a path in backticks that starts with one of them is
# a claim about the tree.
ROOTS = (
    "portal",
    "renderer",
    "stripe_server",
    "bench",
    "tests",
    "tools",
    "templates",
    "static",
    ".ci",
)
_ROOTS_PATTERN = "|".join(re.escape(name) for name in ROOTS)
PATH_IN_BACKTICKS = re.compile(rf"`((?:{_ROOTS_PATTERN})/[\w./-]*)`")


def _section(text: str, start: str, end: str) -> str:
    begin = text.index(start)
    return text[begin : text.index(end, begin + len(start))]


def _normalised(layer: str) -> str:
    """`a|b` and `a | b` are the same layer; so are `a:b` and `a : b`."""
    return re.sub(r"\s*([|:])\s*", r" \1 ", layer.strip())


def documented_layers(markdown: str) -> list[str]:
    """The first column of the code block under "The domains and their order"."""
    section = _section(markdown, "## The domains and their order", "\n## ")
    block = section.split("```", 2)[1]
    return [
        _normalised(re.split(r"\s{2,}", line.strip())[0]) for line in block.strip().splitlines()
    ]


def contract_layers(pyproject: str) -> list[str]:
    contracts = tomllib.loads(pyproject)["tool"]["importlinter"]["contracts"]
    (layers,) = [c for c in contracts if c["type"] == "layers" and c["containers"] == ["portal"]]
    return [_normalised(layer) for layer in layers["layers"]]


def named_paths(section: str) -> set[str]:
    return {match.rstrip("/") for match in PATH_IN_BACKTICKS.findall(section)}


def required_paths(root: Path) -> set[str]:
    """What a layout must name: every folder directly in portal/ and renderer/, every Python
    package at the root and the root folders it speaks of, and every folder of tests/ that does
    not mirror a package (factories, helpers, browser)."""
    required = {
        f"{package}/{child.name}"
        for package in ("portal", "renderer")
        for child in (root / package).iterdir()
        if child.is_dir() and child.name != "__pycache__"
    }
    packages = {p.parent.name for p in root.glob("*/__init__.py")}
    required |= packages | {name for name in ROOTS if (root / name).is_dir()}
    mirrors = packages | {p.parent.name for p in (root / "portal").glob("*/__init__.py")}
    required |= {
        f"tests/{child.name}"
        for child in (root / "tests").iterdir()
        if child.is_dir() and child.name not in mirrors and child.name != "__pycache__"
    }
    return required


def layout_problems(section: str, root: Path) -> dict[str, list[str]]:
    named = named_paths(section)
    return {
        "in the tree but not in the layout": sorted(required_paths(root) - named),
        "in the layout but not in the tree": sorted(p for p in named if not (root / p).exists()),
    }


LAYOUTS = {
    "ARCHITECTURE.md": lambda: _section(
        ARCHITECTURE.read_text(), "## Where each concern lives", "\n## "
    ),
    "README.md": lambda: _section(README.read_text(), "**Layout.**", "\n## "),
}


def test_the_documented_layers_are_the_import_linter_layers_contract() -> None:
    documented = documented_layers(ARCHITECTURE.read_text())
    contract = contract_layers((ROOT / "pyproject.toml").read_text())
    assert documented == contract, (
        "ARCHITECTURE.md's layers differ from [tool.importlinter]'s layers contract in "
        f"pyproject.toml; write the same list, top first, in both: {documented} != {contract}"
    )


@pytest.mark.parametrize("document", sorted(LAYOUTS))
def test_the_layout_names_the_tree_as_it_is(document: str) -> None:
    problems = layout_problems(LAYOUTS[document](), ROOT)
    assert problems == {
        "in the tree but not in the layout": [],
        "in the layout but not in the tree": [],
    }, f"{document}'s layout does not match the tree, name each path in backticks: {problems}"


# --- the checks themselves catch drift (on a small tree, so they cannot pass vacuously) -----


def test_a_layer_missing_from_the_map_is_a_difference() -> None:
    markdown = (
        "## The domains and their order\n\n```\nurls : site   top\ncore   bottom\n```\n\n## Next"
    )
    pyproject = (
        '[[tool.importlinter.contracts]]\nname = "x"\ntype = "layers"\n'
        'containers = ["portal"]\nlayers = ["urls:site", "payouts | streams", "core"]\n'
    )
    assert documented_layers(markdown) == ["urls : site", "core"]
    assert contract_layers(pyproject) == ["urls : site", "payouts | streams", "core"]


def test_a_package_missing_from_the_layout_and_a_path_that_is_gone_are_problems(
    tmp_path: Path,
) -> None:
    for folder in ("portal/site", "portal/streams", "renderer/dsp", "tests/helpers", "tests/site"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "__init__.py").touch()
    (tmp_path / "portal" / "__init__.py").touch()
    (tmp_path / "renderer" / "__init__.py").touch()
    (tmp_path / "tests" / "__init__.py").touch()
    section = (
        "`portal/` with `portal/site/`; `renderer/` with `renderer/dsp/` and "
        "`renderer/resampling.py`; `tests/` and `tests/helpers/`"
    )
    assert layout_problems(section, tmp_path) == {
        "in the tree but not in the layout": ["portal/streams"],
        "in the layout but not in the tree": ["renderer/resampling.py"],
    }
