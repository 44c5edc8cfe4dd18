"""Configuration errors reach the operator as the one-line messages docs/configuration.md shows."""
from __future__ import annotations

import os
import signal
import subprocess

import pytest

import rtp
import sipua
from conftest import running_server

BASE = """sip:
  listen: ["udp:127.0.0.1:5999"]
prompts: {prompts}
tenants:
  demo:
    domains: [127.0.0.1]
    numbers:
      "100": {{ play: "${{GREETING}}" }}
"""


def run(parley_bin, *args, env=None):
    return subprocess.run([str(parley_bin), *args], capture_output=True, text=True, timeout=20,
                          env={k: v for k, v in {**os.environ, **(env or {})}.items() if v is not None})


@pytest.fixture
def config(tmp_path, prompts_dir):
    path = tmp_path / "p.yaml"
    path.write_text(BASE.format(prompts=prompts_dir))
    return path


def test_unset_environment_variable_is_named_with_file_line_and_key(parley_bin, config):
    """check-config and serve both refuse the file, naming file, line, key and variable."""
    env = {"GREETING": None}
    expected = f"{config}:8: tenants.demo.numbers.100.play: environment variable GREETING is not set"
    r = run(parley_bin, "check-config", str(config), env=env)
    assert r.returncode == 1 and r.stderr.strip() == expected, r.stderr
    s = run(parley_bin, "serve", "--config", str(config), env=env)
    assert s.returncode == 2 and s.stderr.strip() == f"parley: {expected}", s.stderr


def test_set_environment_variable_is_used(parley_bin, config):
    r = run(parley_bin, "check-config", str(config), env={"GREETING": "welcome"})
    assert r.returncode == 0 and "OK" in r.stdout, r.stdout + r.stderr
    missing = run(parley_bin, "check-config", str(config), env={"GREETING": "no-such-prompt"})
    assert missing.returncode == 1 and "no-such-prompt" in missing.stdout, missing.stdout + missing.stderr


def test_unknown_key_lists_the_keys_allowed(parley_bin, config):
    config.write_text(config.read_text().replace("domains:", "domians:"))
    r = run(parley_bin, "check-config", str(config), env={"GREETING": "welcome"})
    assert r.returncode == 1
    assert r.stderr.startswith(f"{config}:6: tenants.demo.domians: unknown key (expected one of: "), r.stderr


def test_reload_with_an_unset_variable_keeps_the_old_configuration(parley_bin, prompts_dir, tmp_path):
    """Given a server whose number 100 plays ${GREETING}, when the file is changed to need a
    variable the server's environment lacks and SIGHUP arrives, then the reload is refused
    with the documented message (event config.reload_failed) and calls still get the old
    configuration."""
    with running_server(parley_bin, tmp_path, prompts_dir, numbers={"100": '{ play: "${GREETING}" }'},
                        env={"GREETING": "welcome"}) as server:
        text = server.config_path.read_text()
        server.config_path.write_text(text.replace("${GREETING}", "${MISSING_GREETING}"))
        server.proc.send_signal(signal.SIGHUP)
        failed = server.wait_event(lambda e: e.get("event") == "config.reload_failed", 5.0)
        assert failed is not None, server.describe()
        assert failed.get("error", "").endswith("tenants.demo.numbers.100.play: environment variable MISSING_GREETING is not set"), failed
        with sipua.SipUA(server.sip_port) as ua, rtp.RtpListener() as listener:
            call = ua.invite("100", sipua.make_sdp(listener.port), timeout=5.0)
            assert call.final is not None and call.final.status == 200, call.final
            call.ack()
            assert call.bye().status == 200
