"""Worker functions the TaskHandler runs in its own processes. They live in a module of
their own so that the processes the handler spawns can import them by name."""

from conductor.client.http.models.task import Task
from conductor.client.worker.worker_task import worker_task

SHOUT = "py_shout"
ADD = "py_add"
FLAKY = "py_flaky"


@worker_task(task_definition_name=SHOUT, poll_interval_millis=20)
async def shout(text: str) -> dict:
    """An async worker: the handler runs it on its asyncio runner."""
    return {"text": text.upper() + "!"}


@worker_task(task_definition_name=ADD, poll_interval_millis=20, thread_count=2)
def add(a: int, b: int) -> dict:
    """A plain worker: the handler runs it on its thread pool runner."""
    return {"sum": a + b}


@worker_task(task_definition_name=FLAKY, poll_interval_millis=20)
def flaky(task: Task) -> dict:
    """Fails its first attempt and succeeds on the retry."""
    if task.retry_count == 0:
        raise RuntimeError("first attempt fails on purpose")
    return {"attempt": task.retry_count + 1, "seen": task.input_data.get("value")}
