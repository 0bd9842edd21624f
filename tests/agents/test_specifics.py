"""The specifics guard: what it finds, when it fires, and when it must not."""

from __future__ import annotations

import time

import pytest

from agents import Mismatch, compare_specifics, find_specifics
from agents.specifics import key, names


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Upgrade Netty to 4.1.77", ("Netty", "4.1.77")),
        ("Update Netty to 4.1.46Final", ("Netty", "4.1.46")),
        ("Update the year to 2022", ("2022",)),
        ("Fails on Windows 10 with v2 of the agent", ("Windows", "10", "v2")),
        ("Crash in JavaKeyStoreProvider.renameOrFail", ("JavaKeyStoreProvider.renameOrFail",)),
        ("NPE in MiniYARNCluster", ("NPE", "MiniYARNCluster")),
        ("Don't relocate org.bouncycastle in shaded jars", ("org.bouncycastle",)),
        ("the max_retries setting is ignored", ("max_retries",)),
        ("config in src/main/app.yaml is not read", ("src/main/app.yaml",)),
        ("Parser::parse loops forever", ("Parser::parse",)),
        ("calling flush() twice hangs", ("flush()",)),
        ("hadoop-client-minicluster starts slowly", ("hadoop-client-minicluster",)),
        ("[HDFS] balancer is slow", ("[HDFS]",)),
        ("we sign in with Okta every morning", ("Okta",)),
        ("Can I top up with Apple Pay?", ("Apple Pay",)),
        ("Can I use my card at any ATMs?", ("ATM",)),
    ],
)
def test_finds_the_specifics(text: str, found: tuple[str, ...]) -> None:
    assert find_specifics(text) == found


@pytest.mark.parametrize(
    "text",
    [
        "My card payment was declined twice, why?",
        "I was charged 3 times for a payment of $20 two days ago",
        "The transfer on 12/05/2024 at 10:30 cost me 1£ extra",
        "Missing Sort Arrows In Column Headers",  # Title Case says nothing
        "Hi, Today I tried the built-in sign-in and the pop-up e-mail form",
        "The exchange rate you are using is bad.This can't be right",
        "it took 5 days and 2GB of my data, e.g. the 2nd time",
    ],
)
def test_ordinary_words_amounts_dates_and_title_case_are_not_specifics(text: str) -> None:
    assert find_specifics(text) == ()


@pytest.mark.parametrize(
    ("feedback", "candidate", "says"),
    [
        ("Upgrade Netty to 4.1.77", "Upgrade Netty to 4.1.89", "4.1.77 vs 4.1.89"),
        ("Use hadoop-thirdparty 1.1.1", "Use hadoop-thirdparty 1.1.0", "1.1.1 vs 1.1.0"),
        ("Replace the Supplier in MAPREDUCE", "Replace the Supplier in HDFS", "MAPREDUCE vs HDFS"),
        (
            "NPE in FooProvider.load",
            "NPE in BarProvider.load",
            "FooProvider.load vs BarProvider.load",
        ),
        ("the retry_count option is ignored", "the retry_delay option is ignored", "retry_count"),
        ("SSO with Okta please", "SSO with Azure AD please", "Okta vs Azure AD"),
        ("Export to CSV", "Export to CSV for Salesforce", "nothing vs Salesforce"),
        ("Deploy on Kubernetes", "Deploy on Kubernetes 1.29", "nothing vs 1.29"),
        ("[UI] the save button moves", "[API] the save button moves", "[UI] vs [API]"),
    ],
)
def test_fires_when_one_names_what_the_other_does_not(
    feedback: str, candidate: str, says: str
) -> None:
    mismatch = compare_specifics(feedback, candidate)
    assert isinstance(mismatch, Mismatch)
    assert says in str(mismatch)


@pytest.mark.parametrize(
    ("feedback", "candidate"),
    [
        # the same specifics in other words
        ("bump the netty dependency to version 4.1.77", "Upgrade Netty to 4.1.77"),
        ("Okta single sign-on is a must for us", "We need SSO with Okta"),
        ("We need SSO with Okta", "Okta login (SSO) for the whole team"),
        # case and punctuation
        ("upgrade JACKSON-DATABIND", "Upgrade jackson databind"),
        ("JavaKeyStoreProvider fails", "java key store provider fails"),
        ("Max_Retries is ignored", "max retries is ignored"),
        ("version 4-1-77 breaks", "4.1.77 breaks"),
        ("Top-ups with Apple Pay fail", "top up with applepay fails"),
        ("Can I change my PIN at the ATM?", "Tell me what ATMs allow me to change my PIN."),
        # nothing specific on either side
        ("my card was declined", "Why was my card payment declined?"),
        # a request's description may name more than the feedback: only its title counts
        ("Export to CSV", "Export to CSV. Customers also asked for Excel and Google Sheets."),
    ],
)
def test_does_not_fire_on_the_same_specifics(feedback: str, candidate: str) -> None:
    assert compare_specifics(feedback, candidate) is None


def test_a_shorter_version_is_not_named_by_a_longer_one() -> None:
    assert not names("Upgrade Netty to 4.1.77", "4.1.7")
    assert names("Upgrade Netty to 4.1.77", "4.1.77")
    assert key("Jackson-Databind 2.9") == "jacksondatabind29"


def test_the_reason_says_what_differs() -> None:
    both = compare_specifics("Upgrade Netty to 4.1.77", "Upgrade Netty to 4.1.89")
    one = Mismatch(feedback_only=("Salesforce",), candidate_only=())
    other = compare_specifics("Export to CSV", "Export to CSV for Salesforce")
    assert both is not None and other is not None
    assert both.reason == "They name different specifics: `4.1.77` vs `4.1.89`."
    assert one.reason == "The feedback names `Salesforce`; the request does not."
    assert other.reason == "The request names `Salesforce`; the feedback does not."
    assert both.feedback_only == ("4.1.77",) and both.candidate_only == ("4.1.89",)


def test_it_takes_a_fraction_of_a_millisecond() -> None:
    feedback = "After upgrading to 4.1.77 the JavaKeyStoreProvider fails in hadoop-common"
    candidate = (
        "Upgrade Netty to 4.1.89. The shaded client in hadoop-client-minicluster pulls "
        "an old io.netty jar; see HADOOP-18000 and the [BUILD] notes."
    )
    compare_specifics(feedback, candidate)
    rounds = 200
    started = time.perf_counter()
    for _ in range(rounds):
        compare_specifics(feedback, candidate)
    assert (time.perf_counter() - started) / rounds < 0.001


LOG_OLD = " ".join(
    f"ERROR job-{i} failed at com.acme.etl.Step{i}.run(Step{i}.java:{200 + i}) req_{i * 9}"
    for i in range(60)
)[:3000]
LOG_NEW = " ".join(
    f"ERROR job-{i} failed at com.acme.etl.Step{i}.run(Step{i}.java:{100 + i}) req_{i * 7}"
    for i in range(60)
)[:1000]


def test_a_reason_names_at_most_three_specifics_a_side() -> None:
    mismatch = compare_specifics(LOG_NEW, LOG_OLD)

    assert mismatch is not None
    assert len(mismatch.reason) < 400
    assert " more vs " in mismatch.reason and mismatch.reason.endswith(" more.")
    assert mismatch.reason.count("`") <= 12  # three a side, each as code


def test_the_reason_shows_specifics_as_code_so_slack_formats_none_of_them() -> None:
    mismatch = compare_specifics("the *max_retries* option", "the ~max_delay~ option")

    assert mismatch is not None
    assert "`max_retries` vs `max_delay`" in mismatch.reason


# --- conversational text: what people add around an ask is not a specific --------------

DARK = "Please add a dark mode, the white UI hurts at night"
PDF = "We need to export dashboards to PDF for board meetings"
PDF_REQUEST = "Export dashboards to PDF. Customers want to attach a dashboard to board decks."


@pytest.mark.parametrize(
    ("feedback", "candidate"),
    [
        (f"{DARK}. Thanks, Bob", DARK),
        (f"{DARK}. ETA?", DARK),
        (f"Hi @Sam, {DARK.lower()}", DARK),
        (f"{DARK} (P1 for Globex)", DARK),
        (f"{PDF} by EOD Friday", PDF),
        ("We need to export dashboards to PDF for our Q1 2025 board meetings", PDF_REQUEST),
        (f"{PDF}, like Tableau does", PDF_REQUEST),
        (f"{PDF}. Sent from my iPhone", PDF),
        ("We need single sign-on with Okta, it's TBD for the Initech deal", "SSO with Okta"),
        ("We need single sign-on with Okta for our 300 users", "SSO with Okta"),
        ("Let us map CSV columns when importing from Salesforce", "Map CSV columns on import"),
        ("We need PDF export, thanks Bob", "Export dashboards to PDF"),
        ("Fix the export, see ticket 4821", "Export is broken"),
        ("Page 2 of results is empty", "Pagination broken"),
        ("Deploy on Kubernetes 1.29", "Deploy on Kubernetes"),
        ("Export to CSV for Salesforce", "Export to CSV"),
    ],
)
def test_what_only_the_feedback_names_does_not_stop_a_link_without_a_conflict(
    feedback: str, candidate: str
) -> None:
    assert compare_specifics(feedback, candidate) is None


@pytest.mark.parametrize(
    "text",
    [
        "see https://example.com/foo/bar and <https://x.io/a/b|the doc> for dark mode",
        "<@U123ABC> asked for dark mode in <#C0123|general>, cc @priya.k",
        "email me at bob@acme.com about dark mode :heart_eyes:",
        "We have 40 agents, 1000+ users and lose 2-3 deals a month",
        "Reports take 30s to load and uploads over 10 MB (or 25MB) fail",
        "PLEASE ADD DARK MODE",
        "dark mode pls. THANKS",
        "Love it! 🎉 But please add dark mode",
        "Need it by EOD Friday, ETA? TBD, FYI, ASAP",
        "for our Q1 2025 board meetings (P1)",
        "Hi @Sam, thanks, Bob. Sent from my iPhone",
        "Customers want dark mode",
    ],
)
def test_mentions_links_sign_offs_shorthand_counts_and_shouting_are_not_specifics(
    text: str,
) -> None:
    assert find_specifics(text) == ()


@pytest.mark.parametrize(
    ("feedback", "candidate", "says"),
    [
        ("Okta SSO please", "Azure SSO please", "Okta SSO vs Azure SSO"),
        ("Chrome crashes on save", "Firefox crashes on save", "Chrome vs Firefox"),
        ("Safari crashes", "Firefox crashes", "Safari vs Firefox"),
        ("Support C++ SDK", "Support C# SDK", "C++ vs C#"),
        ("Fix ticket #1234", "Fix ticket #1235", "#1234 vs #1235"),
        ("HADOOP-1234 fails", "HADOOP-1235 fails", "HADOOP-1234 vs HADOOP-1235"),
        ("Chrome 120 crashes", "Chrome 121 crashes", "120 vs 121"),
        ("Python 3 docs are wrong", "Python 2 docs are wrong", "3 vs 2"),
        ("need a 3D view", "need a 2D view", "3D vs 2D"),
        ("Support for S3", "Support for GCS", "S3 vs GCS"),
        ("get_user() returns None", "get_users() returns None", "get_users()"),
        (  # Title Case: a word that is not a common one still names something
            "Replace Guava Supplier with Java8+ Supplier in MAPREDUCE",
            "Replace Guava Supplier with Java8+ Supplier in Hadoop",
            "MAPREDUCE vs Hadoop",
        ),
    ],
)
def test_a_conflict_or_a_request_naming_more_still_fires(
    feedback: str, candidate: str, says: str
) -> None:
    mismatch = compare_specifics(feedback, candidate)
    assert mismatch is not None
    assert says in str(mismatch)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Support Wi-Fi printing", "WiFi printing support"),
        ("Replace HTrace with No-Op tracer", "Replace HTrace with NoOp tracer"),
        ("The X-Ray view is slow", "XRay view slow"),
        ("E-Mail digest", "Email digest"),
        ("Sync with Hub-Spot", "HubSpot sync"),
        ("Upgrade to Java 17", "Upgrade to Java17"),
        ("Support OAuth 2.0", "OAuth2 support"),
        ("SSO via SAML 2.0", "SAML2 SSO"),
        ("Add Log4J 2 support", "Add log4j2 support"),
        ("Keep a Google Sheet in sync", "Google Sheets sync"),
        ("Slack's notifications are noisy", "Noisy Slack notifications"),
        ("Okta-based SSO", "SSO with Okta"),
        ("Multi-currency invoices", "Invoices in several currencies"),
    ],
)
def test_case_punctuation_spacing_plurals_and_possessives_do_not_fire(one: str, other: str) -> None:
    assert compare_specifics(one, other) is None
    assert compare_specifics(other, one) is None


def test_a_possessive_is_the_name_itself() -> None:
    feedback = "Reports in Salesforce’s Lightning UI"
    assert find_specifics(feedback) == ("Salesforce", "Lightning UI")
    assert compare_specifics(feedback, "Salesforce Lightning reports") is None


ADVERSARIAL = [
    "1 " * 20000,
    "a." * 20000,
    "a/" * 20000,
    "a_" * 20000,
    "a::" * 13000,
    "Aa" * 20000 + "_",
    "a.b(" * 10000,
    "[x" * 20000,
    "Hi. Netty " * 4000,
    "ABC " * 10000,
    "Netty's " * 5000,
    "🎉 " * 20000,
    "a-b.c/" * 6500,
    "1," * 20000,
    "$1," * 13000,
    "1 MB " * 8000,
]


@pytest.mark.parametrize("text", ADVERSARIAL, ids=lambda t: repr(t[:8]))
def test_an_adversarial_40_kb_input_completes(text: str) -> None:
    """No catastrophic (quadratic or exponential) behaviour: a generous bound, not a benchmark."""
    import threading

    done = threading.Event()

    def work() -> None:
        find_specifics(text)
        compare_specifics(text, text[::-1])
        compare_specifics("Upgrade Netty to 4.1.77", text)
        done.set()

    threading.Thread(target=work, daemon=True).start()
    assert done.wait(timeout=5), "the guard took more than 5 s on 40 KB"
