"""The Dockerfile and compose.yaml, checked without Docker: what they run and wire up.

Docker is not on the test machines; these read the files and run what can run here
(the health check's command, the installed console script).
"""

from __future__ import annotations

import ast
import json
import re
import shlex
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _dockerfile() -> dict[str, list[str]]:
    """Instructions by keyword, continuation lines joined (comments dropped)."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            found.setdefault(keyword, []).append(rest.strip())
    return found


def _exec_form(text: str) -> list[str]:
    words = json.loads(text)
    assert isinstance(words, list)
    return [str(w) for w in words]


def _compose() -> dict[str, Any]:
    doc = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert isinstance(doc, dict)
    return doc


def test_the_image_is_slim_python_311_plus_run_by_an_unprivileged_user() -> None:
    docker = _dockerfile()
    [base] = docker["FROM"]
    assert re.fullmatch(r"python:3\.(1[1-9])-slim", base)
    assert docker["USER"] == ["bot"]
    assert any("useradd" in run and "bot" in run for run in docker["RUN"])


def test_the_project_is_installed_from_pyproject_with_its_package_data() -> None:
    docker = _dockerfile()
    copied = {shlex.split(c)[0] for c in docker["COPY"]}
    assert {"pyproject.toml", "agents", "bot", "feedback", "workflows"} <= copied
    assert any(re.search(r"pip install .* \.( |$)", run) for run in docker["RUN"])
    for package in ("agents", "bot", "feedback", "workflows"):
        assert (ROOT / package / "__init__.py").exists()


def test_it_serves_on_all_interfaces_and_checks_healthz() -> None:
    docker = _dockerfile()
    [cmd] = docker["CMD"]
    assert _exec_form(cmd) == ["feedback-bot", "serve", "--host", "0.0.0.0", "--port", "3000"]
    assert docker["EXPOSE"] == ["3000"]
    [check] = docker["HEALTHCHECK"]
    probe = _exec_form(check[check.index("CMD") + 3 :])
    assert probe[:2] == ["python", "-c"]
    ast.parse(probe[2])  # valid Python
    assert "http://127.0.0.1:3000/healthz" in probe[2]


def test_compose_runs_the_bot_on_postgres_15_after_migrating() -> None:
    services = _compose()["services"]
    assert set(services) == {"db", "migrate", "bot"}
    db, migrate, bot = services["db"], services["migrate"], services["bot"]

    assert db["image"] == "postgres:15"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert migrate["command"] == ["feedback-bot", "db", "upgrade"]
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    assert bot["command"][:2] == ["feedback-bot", "serve"]
    assert bot["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert bot["ports"] == ["3000:3000"]


def test_compose_takes_the_settings_from_env_and_its_own_database_url() -> None:
    services = _compose()["services"]
    for name in ("migrate", "bot"):
        service = services[name]
        assert service["build"] == "."
        assert [e["path"] for e in service["env_file"]] == [".env"]
        url = service["environment"]["DATABASE_URL"]
        assert url.startswith("postgresql+asyncpg://feedback:") and url.endswith(
            "@db:5432/feedback"
        )
    db_env = services["db"]["environment"]
    assert (db_env["POSTGRES_USER"], db_env["POSTGRES_DB"]) == ("feedback", "feedback")


def test_the_build_context_leaves_out_secrets_and_local_state() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".git", ".venv", "var"} <= set(ignored)
