# Feedback Bot: `docker build -t feedback-bot .` then see compose.yaml (bot + PostgreSQL 15).
#
# The image runs `feedback-bot serve` as an unprivileged user on port 3000; configure it
# with the environment (.env.example lists every setting). Run `feedback-bot db upgrade`
# once per release before serving (compose.yaml does, in its `migrate` service).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin bot

# The project, installed from pyproject.toml like any package (wheels only: no compiler
# in a slim image); the sources are removed once installed.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY agents ./agents
COPY bot ./bot
COPY feedback ./feedback
COPY workflows ./workflows
RUN pip install --only-binary=:all: . && rm -rf /src

# SQLite's default file (DATABASE_URL=sqlite+aiosqlite:///var/feedback-bot.db) lives in
# /app/var; mount a volume there, or point DATABASE_URL at PostgreSQL.
WORKDIR /app
RUN mkdir var && chown bot:bot var
VOLUME /app/var
USER bot

EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4)"]
# SIGTERM (docker stop) finishes requests in flight and hands unfinished steps back
STOPSIGNAL SIGTERM
CMD ["feedback-bot", "serve", "--host", "0.0.0.0", "--port", "3000"]
