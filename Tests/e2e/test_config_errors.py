"""Configuration errors reach the operator as the one-line messages docs/configuration.md shows."""
from __future__ import annotations

import os
import subprocess

import pytest

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
