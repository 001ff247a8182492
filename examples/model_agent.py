"""An agent that answers with a real model, through any OpenAI-compatible chat API.

    export OPENAI_API_KEY=...                       # required; without it the agent exits
    export OPENAI_BASE_URL=https://api.openai.com/v1  # or a local server (vLLM, Ollama, …)
    export OPENAI_MODEL=gpt-4o-mini
    python examples/model_agent.py

Tasks for the capability `chat:v1` carry `input_data = {"prompt": str}`; the result is
`{"answer": str, "model": str}` with the tokens used as the cost.
"""

from __future__ import annotations

import os
import sys

import httpx

from ains_agent import Agent, PermanentError, TaskContext, TaskResult

RETRYABLE = {408, 409, 429, 500, 502, 503, 504}


def build(api_key: str) -> Agent:
    base_url = os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1").rstrip("/")
    model = os.environ.get("OPENAI_MODEL", "gpt-4o-mini")
    agent = Agent("model-agent", max_concurrency=4, wait_seconds=10)
    http = httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=120
    )

    @agent.handler("chat:v1")
    async def chat(task: TaskContext) -> TaskResult:
        prompt = task.input_data.get("prompt") if isinstance(task.input_data, dict) else None
        if not isinstance(prompt, str) or not prompt:
            raise PermanentError("input_data.prompt must be a non-empty string")
        await task.heartbeat()  # the model may take a while: renew the lease first
        body = {"model": model, "messages": [{"role": "user", "content": prompt}]}
        response = await http.post("/chat/completions", json=body)
        if response.status_code in RETRYABLE:
            raise RuntimeError(f"model API answered {response.status_code}")  # retried
        if response.is_error:
            raise PermanentError(f"model API refused: {response.status_code} {response.text[:200]}")
        answer = response.json()
        usage = answer.get("usage") or {}
        return TaskResult(
            {"answer": answer["choices"][0]["message"]["content"], "model": answer.get("model")},
            cost=float(usage.get("total_tokens", 0)),
        )

    return agent


def main() -> int:
    api_key = os.environ.get("OPENAI_API_KEY")
    if not api_key:
        print("model_agent: OPENAI_API_KEY is not set; nothing to do (see the module docstring)")
        return 0
    print(build(api_key).run().summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
