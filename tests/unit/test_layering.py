"""Steward's packages form layers: each imports only the ones below it, and no import cycle runs
between packages (docs/architecture.md lists the layers and what each holds)."""

from __future__ import annotations

import ast
from pathlib import Path

import steward

ROOT = Path(steward.__file__).parent

LAYERS: tuple[tuple[str, ...], ...] = (
    ("domain",),
    ("wire", "network", "crypto", "background", "logs", "files", "balancer"),
    ("settings",),
    ("store", "client"),
    ("kafka",),
    ("agent",),
    ("pca", "secrets", "iam", "autoscaling"),
    ("security",),
    ("monitor",),
    ("functions", "cloudwatch"),
    ("control",),
    ("chaos", "connect"),
    ("console",),
    ("api",),
    ("server",),
    ("cli",),
)
"""Bottom to top; packages of one layer do not import each other."""


def package_of(path: Path) -> str:
    relative = path.relative_to(ROOT)
    return relative.parts[0].removesuffix(".py")


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            names += [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "steward" and len(parts) > 1 and _is_package(parts[1]):
                found.add(parts[1])
    return found


def _is_package(name: str) -> bool:
    return (ROOT / name).is_dir() or (ROOT / f"{name}.py").exists()


def package_imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in ROOT.rglob("*.py"):
        if path.parent == ROOT and path.name == "__init__.py":
            continue
        package = package_of(path)
        graph.setdefault(package, set()).update(imported_packages(path) - {package})
    return graph


def test_every_package_has_a_layer() -> None:
    placed = {p for layer in LAYERS for p in layer}
    assert set(package_imports()) <= placed


def test_no_package_imports_one_of_its_layer_or_above() -> None:
    level = {p: i for i, layer in enumerate(LAYERS) for p in layer}
    upward = sorted(
        f"{package} -> {imported}"
        for package, imports in package_imports().items()
        for imported in imports
        if level.get(imported, 0) >= level.get(package, 0)
    )
    assert upward == []


def test_no_import_cycle_between_packages() -> None:
    graph = package_imports()
    cycles = sorted(
        f"{a} <-> {b}" for a in graph for b in graph[a] if a < b and a in graph.get(b, set())
    )
    assert cycles == []
