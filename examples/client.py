"""A client script: one task, a batch, and their results.

python examples/client.py           # with examples/agent.py running
"""

from __future__ import annotations

import sys

from ains_client import AinsError, Client

TEXT = "AINS routes tasks to agents. It retries them.\n\nAgents report results. Clients wait."


def main() -> int:
    with Client() as client:  # AINS_URL, AINS_API_KEY
        try:
            task = client.tasks.submit(
                "example-client", "summarise", "summarise:v1", {"text": TEXT}
            )
            done = client.tasks.wait(task["task_id"], timeout=60)
            print(done["status"], done["result_data"])

            batch = client.batches.submit(
                [
                    {"task_type": "count", "capability_required": "word-count:v1",
                     "input_data": {"text": "one two three"}},
                    {"task_type": "summarise", "capability_required": "summarise:v1",
                     "input_data": {"text": ""}},  # refused by the agent: PermanentError
                ],
                client_id="example-client",
            )  # fmt: skip
            finished = [client.tasks.wait(t, timeout=60) for t in batch["task_ids"]]
            for item in finished:
                print(item["task_type"], item["status"], item["result_data"] or item["last_error"])
        except AinsError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    return 0 if done["status"] == "COMPLETED" else 1


if __name__ == "__main__":
    sys.exit(main())
