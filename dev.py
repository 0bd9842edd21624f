#!/usr/bin/env python3
"""Set-up and day-to-day commands; needs only Python 3.11+.

    python3 dev.py run      # the demo on the embedded SQLite default
    python3 dev.py test     # the whole test suite, on SQLite and PostgreSQL
    python3 dev.py lint     # ruff (lint and format) and mypy
    python3 dev.py bench    # the benchmarks under bench/

Each command creates ``.venv`` on first use and (re)installs the project into it
whenever ``pyproject.toml`` changes, so a fresh clone needs nothing else.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("FEEDBACK_BOT_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"

EXTRAS = {"run": "", "test": "[dev]", "lint": "[dev]", "bench": "[dev,bench]"}


def ensure_venv(extras: str) -> None:
    """Create the virtual environment and install the project when needed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this script may run on an older python3
        sys.exit(f"Python 3.11+ is needed; this is {sys.version.split()[0]}.")
    if not PYTHON.exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, upgrade_deps=False).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    stamp = VENV / f".installed-{digest}-{extras.strip('[]').replace(',', '-') or 'base'}"
    if stamp.exists():
        return
    print(f"installing feedback-bot{extras} into {VENV}", flush=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "-e", f"{ROOT}{extras}"], check=True)
    stamp.touch()


def run(*cmd: str) -> int:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.call(list(cmd), cwd=ROOT, env=env)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in EXTRAS:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    ensure_venv(EXTRAS[command])
    py = str(PYTHON)
    if command == "run":
        return run(py, "-m", "bot", "demo", *rest)
    if command == "test":
        code = run(py, "-m", "pytest", *rest)
        return 0 if code == 0 else code
    if command == "lint":
        # every check runs, so one pass reports all problems; mypy's packages (pyproject's
        # [tool.mypy]) include tests/ and bench/
        codes = [
            run(py, "-m", "ruff", "check", "."),
            run(py, "-m", "ruff", "format", "--check", "."),
            run(py, "-m", "mypy"),
        ]
        return next((code for code in codes if code), 0)
    return (
        run(py, "bench/engine.py", *rest)
        or run(py, "bench/recovery.py")
        or run(py, "bench/matching.py", *rest)
        or run(py, "bench/extraction.py")
        or run(py, "bench/pipeline.py")
        or run(py, "bench/slack_ingest.py")
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
