"""Seed files: the bundled demo workspace, the format's rules and its error messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.simulator import (
    Seed,
    SeedError,
    SeedMessage,
    SeedUser,
    SlackSimulator,
    demo_seed,
    load_seed,
    parse_seed,
)
from bot.simulator.seed import apply_seed
from bot.simulator.state import Workspace

SMALL = """
[workspace]
name = "Initech"
domain = "initech"

[[users]]
id = "U0PETER"
name = "peter"
email = "peter@initech.example"

[[users]]
id = "U0CUST"
name = "cust"
team_id = "T0OTHER"

[[channels]]
id = "C0TPS"
name = "#tps-reports"
members = ["U0PETER", "U0CUST"]
is_ext_shared = true

[[messages]]
channel = "C0TPS"
user = "U0CUST"
text = "Did you get the memo?"
ts = "1733000000.000100"
reactions = { eyes = ["U0PETER"] }

[[messages.replies]]
user = "U0PETER"
text = "Yeah."
ts = "1733000000.000200"
"""


def test_the_demo_seed_is_a_believable_workspace() -> None:
    seed = demo_seed()
    ws = Workspace()
    apply_seed(ws, seed)
    assert ws.team_name == "Brightloop"
    internal = [u for u in ws.users.values() if not u.is_bot and not ws.is_external(u)]
    external = [u for u in ws.users.values() if ws.is_external(u)]
    assert len(internal) == 3
    assert all(u.email for u in internal)
    assert {u.team_id for u in external} == {"T0ACME", "T0GLOBEX"}
    names = {c.name for c in ws.channels.values()}
    assert {"acme-shared", "globex-shared", "product-reporting"} <= names
    assert ws.channels["C0ACME"].is_ext_shared
    threads = [m for m in ws.top_level("C0ACME") if m.replies]
    assert threads
    assert len(threads[0].replies) >= 2


def test_a_seed_file_loads_users_channels_and_threads(tmp_path: Path) -> None:
    path = tmp_path / "seed.toml"
    path.write_text(SMALL, encoding="utf-8")
    seed = load_seed(path)
    assert seed.users[0] == SeedUser("U0PETER", "peter", email="peter@initech.example")
    assert seed.channels[0].name == "tps-reports"  # "#" dropped
    assert seed.messages[0].replies[0].text == "Yeah."
    ws = Workspace()
    apply_seed(ws, seed)
    assert (ws.team_name, ws.domain) == ("Initech", "initech")
    parent = ws.message("C0TPS", "1733000000.000100")
    assert parent.reactions == {"eyes": ["U0PETER"]}
    assert parent.replies == ["1733000000.000200"]
    assert ws.is_external(ws.user("U0CUST"))


async def test_the_simulator_starts_from_a_seed() -> None:
    async with SlackSimulator(seed=parse_seed(SMALL)) as sim:
        assert [m["text"] for m in sim.thread("C0TPS", "1733000000.000100")] == [
            "Did you get the memo?",
            "Yeah.",
        ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[users]]\nid = 'U1'\n", r"users\[0\]: missing key\(s\) \['name'\]"),
        ("[[users]]\nid = 'U1'\nname = 'a'\nmail = 'x'\n", r"unknown key\(s\) \['mail'\]"),
        ("[[users]]\nid = 'U1'\nname = 'a'\nis_bot = 'yes'\n", "`is_bot` must be true or false"),
        ("[[channels]]\nid = 'C1'\nname = 'c'\nmembers = 'U1'\n", "`members` must be an array"),
        ("users = 3\n", r"`users` must be an array of tables \(\[\[users\]\]\)"),
        ("[team]\nname = 'x'\n", r"unknown key\(s\) \['team'\]"),
        ("[[messages]]\nchannel = 'C1'\nuser = 'U1'\n", r"missing key\(s\) \['text'\]"),
        ("this is = not toml =", "not valid TOML"),
    ],
)
def test_format_errors_name_the_entry(text: str, message: str) -> None:
    with pytest.raises(SeedError, match=message):
        parse_seed(text, source="bad.toml")


@pytest.mark.parametrize(
    ("seed", "message"),
    [
        (
            Seed(messages=(SeedMessage("C0NOPE", "U0BOT", "hi"),)),
            r"messages\[0\].*channel_not_found",
        ),
        (
            Seed(messages=(SeedMessage("C0X", "U0GHOST", "hi"),)),
            r"messages\[0\] in C0X: user_not_found",
        ),
    ],
)
def test_references_to_unknown_entries_are_refused(seed: Seed, message: str) -> None:
    ws = Workspace()
    ws.add_channel("C0X", "x")
    with pytest.raises(SeedError, match=message):
        apply_seed(ws, seed)


def test_a_missing_file_says_which(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match=r"cannot read seed file .*nope\.toml"):
        load_seed(tmp_path / "nope.toml")
