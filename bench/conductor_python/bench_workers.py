"""The worker function the benchmark's TaskHandler runs. It lives in a module of its own
because TaskHandler spawns its worker processes ('spawn' start method), which import it
by name."""

from conductor.client.http.models.task import Task


def step(task: Task) -> dict:
    """Answers at once: adds one to the count the previous task produced."""
    return {"n": int((task.input_data or {}).get("n") or 0) + 1}
