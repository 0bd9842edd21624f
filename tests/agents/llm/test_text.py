"""Slack markup, sentence picking, severity cues, accounts and limits of the fallbacks."""

from __future__ import annotations

import pytest

from agents.llm.text import (
    clean_slack_text,
    clip,
    extractive_summary,
    find_account,
    find_links,
    guess_severity,
    sanitize_output,
    slack_escape,
)


def test_clean_slack_text_strips_markup() -> None:
    raw = (
        "Hey <@U123ABC> and <@W9|dana>, see <https://acme.io/docs|the docs> and "
        "<https://x.io> in <#C42|support> :tada: *bold* _it_ ~no~ &amp; <!here> 10:30:45"
    )
    assert clean_slack_text(raw) == (
        "Hey @someone and @dana, see the docs and https://x.io in #support bold it no & "
        "@here 10:30:45"
    )


def test_clean_slack_text_keeps_identifiers_and_drops_blank_lines() -> None:
    assert clean_slack_text("use snake_case\n\n\n  next   line :+1::skin-tone-2:") == (
        "use snake_case\nnext line"
    )


def test_clean_slack_text_keeps_lists() -> None:
    assert clean_slack_text("asks:\n* *SSO* first\n  * SCIM") == "asks:\n• SSO first\n• SCIM"
    assert clean_slack_text("asks :one: SSO :two: SCIM") == "asks 1. SSO 2. SCIM"
    bullets = ":small_blue_diamond: SSO\n:small_blue_diamond: SCIM"
    assert clean_slack_text(bullets) == "• SSO\n• SCIM"
    assert clean_slack_text(":tada: we shipped it") == "we shipped it"  # one emoji: no list


def test_extractive_summary_prefers_informative_sentences() -> None:
    texts = [
        "Hi team! Thanks for the call. Acme can't export audit logs to S3, and their "
        "security review needs the audit logs every week.",
        "+1",
        "Audit logs export to S3 would unblock their renewal.",
    ]
    summary = extractive_summary(texts, max_sentences=2)
    assert "audit logs" in summary.lower()
    assert "Thanks for the call" not in summary
    assert not summary.startswith("Hi team")


def test_extractive_summary_of_nothing_is_empty() -> None:
    assert extractive_summary([]) == ""
    assert extractive_summary(["+1"]) == "+1"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("This is a blocker for their renewal", "high"),
        ("They will churn if we do not fix it", "high"),
        ("The export is slow and annoying", "medium"),
        ("The dashboard times out for EU users", "medium"),
        ("The CSV import silently drops rows with emoji", "high"),
        ("It would be nice to have dark mode", "low"),
    ],
)
def test_guess_severity(text: str, expected: str) -> None:
    assert guess_severity(text) == expected


def test_find_account_whole_words_most_mentioned() -> None:
    accounts = ["Acme", "Acme Corp", "Globex", "Ink"]
    assert find_account("Acme Corp says... acme corp again, also Globex", accounts) == "Acme Corp"
    assert find_account("We think about things", accounts) is None  # 'Ink' inside 'think'
    assert find_account("anything", []) is None


def test_clip_cuts_at_words_with_an_ellipsis() -> None:
    assert clip("short", 10) == "short"
    cut = clip("one two three four five six", 14)
    assert cut == "one two three…"
    assert len(clip("x" * 50, 10)) == 10


def test_output_sanitising_and_escaping() -> None:
    assert sanitize_output("Hi <!channel> <@U1> <#C1|x> there <!subteam^S1|@devs>") == "Hi there"
    assert slack_escape("<b> & c") == "&lt;b&gt; &amp; c"
    assert find_links("see <https://a.io/x|here> or www.b.com. metadata:ok") == {
        "https://a.io/x",
        "www.b.com",
    }
