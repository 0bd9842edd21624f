"""The README's configuration reference names every setting."""

from __future__ import annotations

import re
from pathlib import Path

from feedback.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_in_the_configuration_reference() -> None:
    readme = (ROOT / "README.md").read_text()
    reference = readme[readme.index("## Configuration\n") :]
    reference = reference[: reference.index("\n## ")]
    rows = [line for line in reference.splitlines() if line.startswith("| `")]
    named = {name for row in rows for name in re.findall(r"`([A-Z_]+)`", row.split(" | ")[0])}
    settings = set()
    for name, field in Settings.model_fields.items():
        choices = getattr(field.validation_alias, "choices", None)
        settings.add(str(choices[0]) if choices else name.upper())

    assert sorted(settings - named) == []
