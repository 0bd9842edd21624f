"""Local fakes of the services the bot talks to (OpenAI-compatible API, Slack Web API).

Each fake is a real HTTP server on 127.0.0.1 that journals every request and can be
scripted to fail, so tests drive the real client libraries end to end without network.
"""

from tests.fakes.openai_server import (
    ChatReply,
    FakeOpenAIServer,
    JournalEntry,
    example_from_schema,
    fake_embedding,
)

__all__ = [
    "ChatReply",
    "FakeOpenAIServer",
    "JournalEntry",
    "example_from_schema",
    "fake_embedding",
]
