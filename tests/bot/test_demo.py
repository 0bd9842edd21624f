"""``feedback-bot demo``: the README's run command, end to end, and its failures."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from pathlib import Path

import pytest

from bot.demo import run_demo, scenario

ROOT = Path(__file__).resolve().parents[2]


async def test_the_demo_plays_every_journey_and_exits_0(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "demo",
        "--database-url",
        url,
        cwd=tmp_path,  # nothing from the checkout's folder: the package alone
        env={**os.environ, "PYTHONPATH": str(ROOT), "OPENAI_API_KEY": "sk-not-used"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 180)
    transcript = out.decode()

    assert process.returncode == 0, err.decode()[-2000:]
    seen = [
        # 1: a reaction, the bot's mark, a confident link
        "Dana Whitfield reacts :gtm-feedback: to Jordan Lee's message",
        "Feedback Bot reacts :eyes:",
        "Filed under *Export dashboards to PDF* (Acme Corp",
        # 2: a question with buttons, decided by a click, a late click told privately
        "Which request is this?",
        "Marcus Lee clicks [This one]",
        "Linked to *SSO with Okta (SAML)* by @Marcus Lee.",
        "Already decided by @Marcus Lee.",
        # 3 and 4: two asks in one message; a drafted request announced to its area
        "> The Excel export should keep our formatting.",
        "> The mobile app needs to work offline in the warehouse.",
        "New request in *Reporting* by @Dana Whitfield",
        # 5: a request by hand and its reminder
        "Priya Raman submits the form",
        "*Annotations on charts* has no customer feedback yet.",
        # 6: shipped: followers and the customer's thread
        "Shipped: *Export dashboards to PDF*.",
        "#acme-shared (thread)  Feedback Bot:",
        # 7 and 8: reports and the App Home
        "REPORTING · DAILY INSIGHTS",
        "WEEKLY FEEDBACK DIGEST",
        "REQUESTS YOU FOLLOW",
        " -m workflows runs list --database-url " + url,
    ]
    missing = [line for line in seen if line not in transcript]
    assert not missing, transcript
    assert "Done in" in transcript and "5 feedback items filed" in transcript
    # the LLM key in the environment was not used: the demo runs offline
    assert "api.openai.com" not in err.decode()


async def test_a_scene_that_goes_wrong_exits_1_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(scenario, "SHIPPED", "A request nobody filed")
    out = io.StringIO()

    status = await run_demo(f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}", out=out)

    assert status == 1
    assert "feedback-bot demo: failed: no request titled 'A request nobody filed'" in (
        capsys.readouterr().err
    )
    assert "Filed under *Export dashboards to PDF*" in out.getvalue()  # the scenes before
