"""The example worker and starter under examples/python, run as a user would run them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "python"


def test_example_worker_serves_greet_and_stops_on_sigterm(server: Any) -> None:
    env = {**os.environ, "BATON_SERVER": server.address}
    worker = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "worker.py")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert worker.stdout is not None
        assert "serving greet" in worker.stdout.readline()
        started = subprocess.run(
            [sys.executable, str(EXAMPLES / "start.py"), "Ada"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert started.returncode == 0, started.stderr
        assert "COMPLETED {'greeting': 'Hello, Ada'}" in started.stdout
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(20) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
