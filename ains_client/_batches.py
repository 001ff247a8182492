"""Batches: submit many tasks in one request, follow and cancel them (`/aitp/tasks/batch`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ains_client._base import Call, drop_none
from ains_client._send import JT, PT, Resource
from ains_client._types import JSONObject

__all__ = ["Batches"]


class Batches(Resource[JT, PT]):
    """`client.batches`. Each task of a batch is a `POST /aitp/tasks` body; it may carry a `ref`
    that other tasks of the batch name in `depends_on`."""

    def submit(
        self,
        tasks: Sequence[JSONObject],
        *,
        batch_id: str | None = None,
        client_id: str | None = None,
        atomic: bool = False,
        fail_fast: bool = False,
    ) -> JT:
        """Submit up to the server's `max_batch_size` tasks. The answer's `results` has one
        `{index, ok, task_id | errors}` per task; invalid tasks are refused one by one unless
        `atomic` (then nothing is created and `ValidationError` is raised). A repeated
        `batch_id` answers the original batch."""
        body: dict[str, Any] = {
            "tasks": list(tasks),
            "batch_options": {"atomic": atomic, "fail_fast": fail_fast},
        }
        body.update(drop_none(batch_id=batch_id, client_id=client_id))
        return self._send.json(Call("POST", "/aitp/tasks/batch", json=body))

    def get(self, batch_id: str) -> JT:
        """The batch with its counts by status and its progress."""
        return self._send.json(Call("GET", f"/aitp/tasks/batch/{batch_id}"))

    def results(self, batch_id: str) -> JT:
        """Every task of the batch with its status and `result_data`."""
        return self._send.json(Call("GET", f"/aitp/tasks/batch/{batch_id}/results"))

    def status(self, task_ids: Sequence[str]) -> JT:
        """The statuses of the given tasks, batch or not (`GET /aitp/tasks/batch/status`)."""
        params = {"task_ids": ",".join(task_ids)}
        return self._send.json(Call("GET", "/aitp/tasks/batch/status", params=params))

    def cancel(self, batch_id: str, reason: str | None = None) -> JT:
        """Cancel every task of the batch that is not yet terminal."""
        params = drop_none(reason=reason)
        return self._send.json(Call("DELETE", f"/aitp/tasks/batch/{batch_id}", params=params))
