"""`digest-bot run` as a real process in HTTP mode: it serves signed /papers and stops on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import EXAMPLE_ARCHIVE, PROJECT
from tests.support.fake_slack import FakeSlack
from tests.support.slack_requests import FORM, post, sign, slash_command_body

SECRET = "subprocess-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, process: subprocess.Popen[str], timeout: float = 60) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"digest-bot run exited early:\n{process.stdout.read() if process.stdout else ''}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return json.loads(response.read())
        except OSError:
            time.sleep(0.1)
    raise AssertionError("digest-bot run did not become healthy")


def test_run_serves_http_and_stops_on_sigterm(tmp_path: Path, fake: FakeSlack) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT),
        "DIGEST_ARCHIVE": str(EXAMPLE_ARCHIVE),
        "DIGEST_DB_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}",
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.api_url,
        "PORT": str(port),
        "DIGEST_BIND_ADDRESS": "127.0.0.1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        health = wait_healthy(f"http://127.0.0.1:{port}/healthz", process)
        assert health["status"] == "ok" and health["papers"] == 21
        response_url = fake.new_response_url()
        body = slash_command_body("deep learning with differential privacy", response_url=response_url)
        status, _, _ = post(f"http://127.0.0.1:{port}/slack/events", body, sign(SECRET, body), FORM)
        assert status == 200
        [answer] = fake.wait_for(lambda: fake.responses(response_url), timeout=10)
        assert "Deep Learning with Differential Privacy" in str(answer)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert f"HTTP mode on 127.0.0.1 port {port}" in output and "Traceback" not in output
