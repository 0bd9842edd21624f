"""The package layout: imports flow one way, and the engine loads nothing of the product."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# who may import whom: bot -> workflows -> agents and feedback; the engine imports none
ALLOWED = {
    "agents": {"agents"},
    "feedback": {"feedback", "agents"},
    "workflows": {"workflows", "workflows.engine", "agents", "feedback"},
    "workflows.engine": {"workflows.engine"},
    "bot": {"bot", "workflows", "workflows.engine", "agents", "feedback"},
}
PRODUCT = ("agents", "feedback", "bot", "numpy", "slack_sdk", "slack_bolt", "aiohttp", "openai")


def test_importing_the_engine_loads_nothing_of_the_product() -> None:
    code = "import sys, json, workflows.engine; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = json.loads(out.stdout)
    leaked = [m for m in loaded if m.split(".")[0] in PRODUCT]
    assert leaked == []
    assert not [
        m for m in loaded if m.startswith("workflows.") and not m.startswith("workflows.engine")
    ]


def _package_of(path: Path) -> str:
    parts = path.relative_to(ROOT).parts
    if parts[:2] == ("workflows", "engine"):
        return "workflows.engine"
    return parts[0]


def _imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _top(module: str) -> str | None:
    if module.startswith("workflows.engine") or module == "workflows.engine":
        return "workflows.engine"
    head = module.split(".")[0]
    return head if head in {"agents", "feedback", "workflows", "bot"} else None


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_flow_one_way(package: str) -> None:
    folder = ROOT / package.replace(".", "/")
    wrong = []
    for path in sorted(folder.rglob("*.py")):
        owner = _package_of(path)
        if owner != package:
            continue
        for module in _imported(path):
            target = _top(module)
            if target is not None and target not in ALLOWED[package]:
                wrong.append(f"{path.relative_to(ROOT)} imports {module}")
    assert wrong == []


def test_workflows_package_init_stays_empty() -> None:
    tree = ast.parse((ROOT / "workflows" / "__init__.py").read_text())
    assert not [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]


def _declared_dependencies() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {
        _normalized(re.split(r"[\s<>=!~;\[]", spec, maxsplit=1)[0])
        for spec in project["dependencies"]
    }


def _normalized(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def test_what_the_packages_import_is_installed_by_a_plain_install() -> None:
    # `pip install feedback-bot` (no extras) must be enough to run everything the packages
    # import: the demo once needed httpx, which only the dev extra declared
    # starlette is FastAPI's own foundation (its ASGI types), pinned by FastAPI itself
    declared = _declared_dependencies() | {"starlette"}
    owners = importlib.metadata.packages_distributions()
    first_party = {"agents", "feedback", "workflows", "bot"}
    missing = set()
    for package in first_party:
        for path in sorted((ROOT / package).rglob("*.py")):
            for module in _imported(path):
                head = module.split(".")[0]
                if head in first_party or head in sys.stdlib_module_names:
                    continue
                distributions = {_normalized(d) for d in owners.get(head, [head])}
                if not distributions & declared:
                    missing.add(f"{path.relative_to(ROOT)} imports {head}")
    assert sorted(missing) == []
