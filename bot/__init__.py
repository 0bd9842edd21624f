"""The Slack surface of Feedback Bot: Bolt app, listeners, Block Kit views, HTTP server, CLI."""
