"""A complete AINS agent: summarises texts, reports progress, stops when cancelled.

Run it beside a server (`ains serve`):

    python examples/agent.py            # AINS_URL / AINS_API_KEY are read from the environment

Then submit work with `python examples/client.py`.
"""

from __future__ import annotations

import asyncio
import os

from ains_agent import Agent, PermanentError, TaskContext, TaskResult

agent = Agent(
    os.environ.get("AGENT_NAME", "example-summariser"),
    max_concurrency=int(os.environ.get("AGENT_CONCURRENCY", "4")),
    wait_seconds=5,
)


@agent.handler("summarise:v1")
async def summarise(task: TaskContext) -> TaskResult:
    """Keep the first sentence of each paragraph; `input_data = {"text": str}`."""
    text = task.input_data.get("text") if isinstance(task.input_data, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise PermanentError("input_data.text must be a non-empty string")  # never retried
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    firsts = []
    for done, paragraph in enumerate(paragraphs, start=1):
        if task.is_cancelled:  # the server cancelled it: stop, report nothing
            return TaskResult(None)
        firsts.append(paragraph.split(". ")[0].strip().rstrip(".") + ".")
        await task.progress({"paragraphs": done, "of": len(paragraphs)})  # renews the lease too
        await asyncio.sleep(0)  # a real agent would call a model here
    return TaskResult({"summary": " ".join(firsts)}, cost=0.001 * len(paragraphs))


@agent.handler("word-count:v1")
def word_count(task: TaskContext) -> dict[str, int]:
    """A sync handler runs in a thread; it returns plain JSON."""
    return {"words": len(str(task.input_data.get("text", "")).split())}


if __name__ == "__main__":
    stats = agent.run()  # until Ctrl-C or SIGTERM; in-flight tasks finish first
    print(stats.summary())
