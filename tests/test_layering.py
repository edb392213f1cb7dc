"""The package layers of DESIGN.md, read from the import statements of every module.

config/ → api/ → training/ → annotate/, and training/core/ beneath them all: a plain
torch/transformers library (annotate's importer reads datasets with its parsers) that
imports no Django. A lower layer importing a higher one is the cycle this guards.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("annotate", "training", "api", "config")


def imported_modules(package: str) -> dict[str, set[str]]:
    """Every module a package's non-test source files import, by file."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        relative = path.relative_to(ROOT)
        if "tests" in relative.parts or "migrations" in relative.parts:
            continue
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
        found[str(relative)] = names
    return found


def offences(package: str, allowed: tuple[str, ...], banned: tuple[str, ...]):
    return sorted(
        f"{path} imports {name}"
        for path, names in imported_modules(package).items()
        for name in names
        if name.split(".")[0] in banned
        and not any(name == a or name.startswith(a + ".") for a in allowed)
    )


@pytest.mark.parametrize(
    ("package", "allowed", "banned"),
    [
        ("annotate", ("training.core",), ("training", "api", "config")),
        ("training", (), ("api", "config")),
        ("api", (), ("config",)),
        ("training/core", ("training.core",), ("django", "rest_framework", *APPS)),
    ],
)
def test_no_package_imports_a_layer_above_it(
    package: str, allowed: tuple[str, ...], banned: tuple[str, ...]
) -> None:
    assert offences(package, allowed, banned) == []


def test_the_scan_sees_the_imports_it_guards_against() -> None:
    # The API does import both apps below it; an empty scan would pass everything.
    api_imports = set().union(*imported_modules("api").values())
    assert {"training.models", "annotate.models"} <= api_imports
