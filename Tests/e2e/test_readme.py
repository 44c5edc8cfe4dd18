"""The README's quick start, run as written.

`scripts/run` is started exactly as the README says (it installs what is missing, builds the
release binary and serves config/demo.yaml on udp:127.0.0.1:5060), then every command of the
"Try it" block runs in a shell from the repository root. A README example that stops working
fails here, and so does a run path that no longer starts, answers or stops cleanly.

This test uses the demo's fixed port 5060 and the checkout's var/ folder, as a user would; it
reads only the events it caused (the file may already hold older ones).
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import REPO_ROOT, _udp_port_free, sip_options_ok

README = REPO_ROOT / "README.md"
EVENTS = REPO_ROOT / "var" / "events.jsonl"
DEMO_PORT = 5060
# scripts/run may have to build: a fresh machine's first release build takes a while.
START_TIMEOUT_S = 1800


def try_it_blocks() -> list[str]:
    """The ```sh blocks of the README's "## Try it" section, in order."""
    text = README.read_text()
    m = re.search(r"^## Try it\n(.*?)(?=^## )", text, re.S | re.M)
    assert m, "README.md has no '## Try it' section"
    return re.findall(r"```sh\n(.*?)```", m.group(1), re.S)


def new_events(offset: int) -> list[dict]:
    if not EVENTS.exists():
        return []
    with open(EVENTS, "rb") as f:
        f.seek(offset)
        return [json.loads(line) for line in f.read().decode().splitlines() if line.strip()]


def test_readme_quick_start_works_as_written(tmp_path):
    blocks = try_it_blocks()
    assert len(blocks) >= 2, f"expected sh blocks in Try it (the server, then the steps), found {len(blocks)}"
    server_cmd, steps = blocks[0].strip(), "\n".join(blocks[1:])
    assert server_cmd == "scripts/run", server_cmd
    if not _udp_port_free(DEMO_PORT):
        pytest.fail(f"udp:127.0.0.1:{DEMO_PORT} is taken: stop whatever listens there (a demo server?) and run again",
                    pytrace=False)

    offset = EVENTS.stat().st_size if EVENTS.exists() else 0
    log = tmp_path / "run.log"
    with open(log, "wb") as out:
        # scripts/run ends in `exec parley serve`: this process becomes the server.
        server = subprocess.Popen(["bash", "-c", server_cmd], cwd=REPO_ROOT, stdin=subprocess.DEVNULL,
                                  stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not sip_options_ok(DEMO_PORT):
            assert server.poll() is None, "scripts/run exited:\n" + log.read_text(errors="replace")[-4000:]
            assert time.monotonic() < deadline, "scripts/run did not answer OPTIONS:\n" + log.read_text(errors="replace")[-4000:]
            time.sleep(0.5)

        # The steps, as a user pastes them: one shell, stop at the first failing command.
        script = tmp_path / "try-it.sh"
        script.write_text("set -euo pipefail\n" + steps)
        r = subprocess.run(["bash", str(script)], cwd=REPO_ROOT, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=300)
        transcript = f"--- stdout ---\n{r.stdout[-6000:]}\n--- stderr ---\n{r.stderr[-3000:]}"
        assert r.returncode == 0, "a Try it step failed:\n" + transcript

        events = new_events(offset)
        received = {e["call_id"]: e.get("number") for e in events if e.get("event") == "call.received"}
        assert "100" in received.values() and "200" in received.values(), f"calls seen: {received}\n" + transcript
        ended = [e for e in events if e.get("event") == "call.ended"]
        assert len(ended) >= len(received), f"every call ends: {ended}"
        # The README promises the menu walk: 2 (support), * (back), 9 (goodbye).
        selected = [e.get("keys") for e in events if e.get("event") == "menu.selected"]
        assert selected == ["2", "*", "9"], f"menu.selected keys {selected}\n" + transcript
        # ... and that `grep menu.selected` shows them to the user.
        assert r.stdout.count('"menu.selected"') >= 3, transcript
        # `parley dial` prints its summary: answered, with audio both ways.
        assert r.stdout.count("status: 200 OK") >= 2, transcript
        assert re.search(r"rtp: \d+ sent, [1-9]\d* received", r.stdout), transcript
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
    # The README says a stop drains and exits 0.
    try:
        rc = server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        pytest.fail("the server did not stop within 30 s of SIGTERM")
    assert rc == 0, f"exit status {rc} after SIGTERM:\n" + log.read_text(errors="replace")[-3000:]
