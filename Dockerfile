# DukeNet AINS server (also runs the sample agent: `ains agent ...`).
#
#   docker build -t dukenet/ains .
#   docker run -e AINS_DATABASE_URL=postgresql://... -p 8000:8000 dukenet/ains
#
# Listening on 0.0.0.0 is not loopback, so the server refuses to start until an admin API key
# exists in its database (protected mode). Create one first, against the same database:
#   docker run --rm -e AINS_DATABASE_URL=... dukenet/ains \
#     sh -c 'ains db upgrade && ains keys create --role admin --name ops'
# (the key is printed alone on the last line, once). docker-compose.yml does exactly that in its
# one-shot `init` service before the replicas start.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# Sources only (no .venv, tests or benchmarks): the wheel packages ains, ains_client, ains_agent.
COPY pyproject.toml README.md ./
COPY ains ./ains
COPY ains_client ./ains_client
COPY ains_agent ./ains_agent
RUN pip install . && rm -rf /src

RUN useradd --create-home --uid 10001 ains
USER 10001
# With no AINS_DATABASE_URL the server uses ./ains.db (SQLite), here /home/ains/ains.db.
WORKDIR /home/ains

EXPOSE 8000
CMD ["ains", "serve", "--host", "0.0.0.0", "--port", "8000"]
