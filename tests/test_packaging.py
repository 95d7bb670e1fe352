"""Packaging: the license is an SPDX string, and the runtime dependencies are exactly what the
package imports (test-only and benchmark packages live in extras)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# imported modules whose distribution comes with a declared dependency (its own core, an extra)
VIA = {"pydantic-core": "pydantic", "redis": "celery"}
# declared and never imported: a program the package runs (ansible-runner spawns ansible-playbook)
RUN_NOT_IMPORTED = {"ansible-core"}


def _name(requirement: str) -> str:
    found = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert found is not None, requirement
    return found.group(0).lower().replace("_", "-")


def _imported_distributions() -> set[str]:
    modules: set[str] = set()
    for path in (ROOT / "isolate").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    third_party = modules - set(sys.stdlib_module_names) - {"isolate"}
    owners = packages_distributions()
    return {VIA.get(d, d) for m in third_party for d in (_name(owners[m][0]),)}


def test_license_is_an_spdx_string() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "Apache-2.0"


def test_runtime_dependencies_are_exactly_what_the_package_imports() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {_name(r) for r in project["dependencies"]}
    assert declared - RUN_NOT_IMPORTED == _imported_distributions()
