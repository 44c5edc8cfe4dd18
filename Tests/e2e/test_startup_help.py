"""What a newcomer meets first: every command's --help has a purpose and an example, `parley
serve` without a configuration points at the demo, and a start-up failure is one line saying
what to do."""
from __future__ import annotations

import os
import socket
import subprocess

import pytest

from conftest import free_port_block, free_udp_port

COMMANDS = [
    [], ["serve"], ["check-config"], ["dial"],
    ["mailbox"], ["mailbox", "add"], ["mailbox", "list"], ["mailbox", "set-pin"], ["mailbox", "remove"],
    ["messages"], ["messages", "list"], ["messages", "export"], ["messages", "delete"], ["messages", "deposit"],
    ["mail"], ["mail", "status"], ["mail", "deliver"], ["mail", "send"],
]


def run(parley_bin, *args, timeout=20):
    return subprocess.run([str(parley_bin), *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "parley")
def test_help_gives_a_purpose_and_an_example(parley_bin, command):
    r = run(parley_bin, *command, "--help")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("OVERVIEW: ") and len(r.stdout.splitlines()[0]) > len("OVERVIEW: ") + 10, r.stdout
    examples = [line.strip() for line in r.stdout.splitlines() if "parley " in line and
                (line.strip().startswith("Example: parley ") or line.startswith("  parley "))]
    assert examples, f"no example in `parley {' '.join(command)} --help`:\n{r.stdout}"
    # The example names this very command.
    assert any(" ".join(["parley", *command]) in e for e in examples), examples


def test_serve_without_config_points_at_the_demo(parley_bin):
    r = run(parley_bin, "serve")
    assert r.returncode == 2
    assert "--config" in r.stderr and "config/demo.yaml" in r.stderr, r.stderr
    assert "Error: Missing expected argument" not in r.stderr, r.stderr


CONFIG = """sip:
  listen: ["udp:127.0.0.1:{sip_port}"]
rtp:
  ports: {rtp_lo}-{rtp_hi}
prompts: {prompts}
storage:
  data_dir: {data_dir}
tenants:
  demo:
    domains: [127.0.0.1]
    numbers:
      "100": {{ play: welcome }}
"""


def write_config(tmp_path, prompts, sip_port=None, data_dir=None):
    lo = free_port_block(20)
    path = tmp_path / "parley.yaml"
    path.write_text(CONFIG.format(sip_port=sip_port or free_udp_port(), rtp_lo=lo, rtp_hi=lo + 19, prompts=prompts,
                                  data_dir=data_dir or tmp_path / "data"))
    return path


def one_line_error(r) -> str:
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.returncode == 2, f"exit {r.returncode}: {r.stderr}"
    # Log lines (with a timestamp and level) may come first; the error itself is the last line, alone.
    assert lines and lines[-1].startswith("parley: "), r.stderr
    return lines[-1]


def test_port_in_use_says_which_port_and_what_to_do(parley_bin, prompts_dir, tmp_path):
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.bind(("127.0.0.1", 0))
    port = holder.getsockname()[1]
    try:
        r = run(parley_bin, "serve", "--config", str(write_config(tmp_path, prompts_dir, sip_port=port)))
    finally:
        holder.close()
    line = one_line_error(r)
    assert f"udp:127.0.0.1:{port}" in line and "already in use" in line and "sip.listen" in line, line


def test_unwritable_data_directory_says_what_to_do(parley_bin, prompts_dir, tmp_path):
    # A data_dir below a regular file can never be created, even by root.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    r = run(parley_bin, "serve", "--config", str(write_config(tmp_path, prompts_dir, data_dir=blocker / "data")))
    line = one_line_error(r)
    assert "storage.data_dir" in line and str(blocker / "data") in line, line
    assert "writable" in line, line


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into any folder")
def test_read_only_data_directory_says_what_to_do(parley_bin, prompts_dir, tmp_path):
    data = tmp_path / "ro"
    data.mkdir(mode=0o500)
    line = one_line_error(run(parley_bin, "serve", "--config", str(write_config(tmp_path, prompts_dir, data_dir=data))))
    assert "storage.data_dir" in line and "writable" in line, line


def test_missing_prompts_say_where_they_were_looked_for_and_what_to_do(parley_bin, tmp_path):
    empty = tmp_path / "no-prompts"
    empty.mkdir()
    line = one_line_error(run(parley_bin, "serve", "--config", str(write_config(tmp_path, empty))))
    assert "welcome" in line and str(empty) in line, line
    assert "prompts:" in line, line
