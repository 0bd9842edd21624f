"""The simulator package's public face is exactly its documented names."""

import bot.simulator


def test_all_lists_every_public_name_once() -> None:
    assert len(bot.simulator.__all__) == len(set(bot.simulator.__all__))  # RUF022 keeps it sorted
    modules = {
        "blocks",
        "cli",
        "errors",
        "journal",
        "methods",
        "oauth",
        "respond",
        "seed",
        "server",
        "shapes",
        "simulator",
        "slack_requests",
        "state",
    }
    public = {name for name in vars(bot.simulator) if not name.startswith("_")} - modules
    assert set(bot.simulator.__all__) == public
