"""The package's layers, read from the source: no lower module imports upwards.

Every import statement of every module under ``crm/`` is read with ``ast``
(module-level and inside functions), resolved to the module it names, and
checked against two rules; a failure lists the offending edges.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "crm"

# The foundations every area builds on; they must not know the factory, the
# worker or any area.
LOWER = ("crm.jobs", "crm.models", "crm.extensions", "crm.tenancy", "crm.dialects")
LOWER += ("crm.database", "crm.audit")
# Where the app may be built: the worker process, and command-line modules (which
# run inside an app flask built). wsgi.py and the tests are outside crm/.
MAY_BUILD_THE_APP = ("crm", "crm.worker", "crm.cli")


@dataclass(frozen=True)
class Edge:
    importer: str
    imported: str
    names: tuple[str, ...]  # what a "from crm import ..." takes, when it is not a module
    where: str

    def __str__(self) -> str:
        taken = f" ({', '.join(self.names)})" if self.names else ""
        return f"{self.where}: {self.importer} -> {self.imported}{taken}"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports_of(name: str, source: str, where: str) -> list[Edge]:
    """Every import in ``source`` (module ``name``), wherever it stands, as edges."""
    is_package = where.endswith("__init__.py")
    edges = []
    for node in ast.walk(ast.parse(source)):
        line = f"{where}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            edges += [Edge(name, alias.name, (), line) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name.split(".") if is_package else name.split(".")[:-1]
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            symbols = []
            for alias in node.names:
                if is_module(f"{base}.{alias.name}"):
                    edges.append(Edge(name, f"{base}.{alias.name}", (), line))
                else:
                    symbols.append(alias.name)
            if symbols:
                edges.append(Edge(name, base, tuple(symbols), line))
        elif (  # crm.create_app(...) after a plain "import crm"
            isinstance(node, ast.Attribute)
            and node.attr == "create_app"
            and isinstance(node.value, ast.Name)
            and node.value.id == "crm"
        ):
            edges.append(Edge(name, "crm", ("create_app",), line))
    return edges


def all_edges() -> list[Edge]:
    edges = []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = str(path.relative_to(ROOT))
        edges += imports_of(module_name(path), path.read_text(encoding="utf-8"), where)
    return edges


def blueprint_areas() -> set[str]:
    """Packages under crm/ that define a blueprint (the areas of the domain)."""
    return {
        f"crm.{init.parent.name}"
        for init in PACKAGE.glob("*/__init__.py")
        if "Blueprint(" in init.read_text(encoding="utf-8")
    }


def within(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def upward(edge: Edge, areas: set[str]) -> bool:
    return edge.imported in ("crm", "crm.worker", "crm.cli") or within(edge.imported, areas)


def builds_the_app(edge: Edge) -> bool:
    return edge.imported == "crm" and "create_app" in edge.names


def may_build_the_app(importer: str) -> bool:
    return importer in MAY_BUILD_THE_APP or importer.endswith(".cli")


def test_the_walk_sees_every_kind_of_import():
    source = (
        "import crm\n"
        "from crm import audit, create_app\n"
        "from . import forms\n"
        "from ..extensions import db\n"
        "def later():\n"
        "    from crm.metrics import jobs\n"
        "    return crm.create_app()\n"
    )
    edges = imports_of("crm.imports.views", source, "crm/imports/views.py")
    assert {(e.imported, e.names) for e in edges} == {
        ("crm", ()),
        ("crm.audit", ()),
        ("crm", ("create_app",)),
        ("crm.imports.forms", ()),
        ("crm.extensions", ("db",)),
        ("crm.metrics.jobs", ()),
        ("crm", ("create_app",)),
    }
    assert [str(e) for e in edges if builds_the_app(e)] == [
        "crm/imports/views.py:2: crm.imports.views -> crm (create_app)",
        "crm/imports/views.py:7: crm.imports.views -> crm (create_app)",
    ]


def test_the_real_graph_is_read():
    edges = {(e.importer, e.imported) for e in all_edges()}
    assert ("crm.worker", "crm") in edges  # the worker builds the app
    assert ("crm.metrics.jobs", "crm.jobs") in edges
    assert ("crm.imports.jobs", "crm.jobs") in edges
    assert {"crm.imports", "crm.metrics", "crm.alliance"} <= blueprint_areas()


def test_lower_layers_import_neither_the_factory_nor_the_worker_nor_an_area():
    areas = blueprint_areas()
    offending = [e for e in all_edges() if within(e.importer, LOWER) and upward(e, areas)]
    assert not offending, "upward imports:\n" + "\n".join(map(str, offending))


def test_only_the_worker_and_the_command_line_build_the_app():
    offending = [e for e in all_edges() if builds_the_app(e) and not may_build_the_app(e.importer)]
    assert not offending, "create_app imported by:\n" + "\n".join(map(str, offending))
