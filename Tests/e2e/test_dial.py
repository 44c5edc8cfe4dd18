"""`parley dial`: a real SIP call from the command line against a running server with the
demo configuration (config/demo.yaml, ports moved to free ones)."""
from __future__ import annotations

import os
import re
import subprocess
import time

import pytest

import rtp
import sipua
from conftest import REPO_ROOT, free_port_block, free_udp_port, sip_options_ok, ParleyServer, stop_server

# Monday 11:00 in Brussels: the demo tenant is open, so menu "main" greets with welcome.
OPEN_HOURS = "2026-11-23T10:00:00Z"


def demo_config(tmp_path, sip_port: int, rtp_start: int, prompts, auth: str = "") -> str:
    text = (REPO_ROOT / "config" / "demo.yaml").read_text()
    text = text.replace('listen: ["udp:127.0.0.1:5060", "tcp:127.0.0.1:5060"]', f'listen: ["udp:127.0.0.1:{sip_port}"]' + auth)
    text = text.replace("ports: 20000-20999", f"ports: {rtp_start}-{rtp_start + 199}")
    text = text.replace("prompts: ../prompts", f"prompts: {prompts}")
    assert f"{sip_port}" in text and f"{rtp_start}" in text, "config/demo.yaml changed shape; update this test"
    path = tmp_path / "demo.yaml"
    path.write_text(text)
    return str(path)


@pytest.fixture
def demo_server(parley_bin, prompts_dir, tmp_path, request):
    auth = getattr(request, "param", "")
    sip_port = free_udp_port()
    rtp_start = free_port_block(200)
    config = demo_config(tmp_path, sip_port, rtp_start, prompts_dir, auth)
    events = tmp_path / "events.jsonl"
    err = tmp_path / "parley.stderr"
    env = {**os.environ, "PARLEY_TEST_NOW": OPEN_HOURS, "DEMO_ALICE_PASSWORD": "correct horse"}
    with open(err, "wb") as e, open(tmp_path / "parley.stdout", "wb") as o:
        proc = subprocess.Popen([str(parley_bin), "serve", "--config", config, "--events", str(events)],
                                stdout=o, stderr=e, stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    server = ParleyServer(proc, sip_port, rtp_start, rtp_start + 199, config, events, err, tmp_path, prompts_dir)
    deadline = time.monotonic() + 20
    while not sip_options_ok(sip_port):
        assert proc.poll() is None and time.monotonic() < deadline, "server did not start" + server.describe()
        time.sleep(0.1)
    yield server
    problem = stop_server(server)
    assert problem is None, problem


def dial(parley_bin, *args, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([str(parley_bin), "dial", *args], capture_output=True, text=True, timeout=timeout)


def field(out: str, name: str) -> str:
    m = re.search(rf"^{name}: (.*)$", out, re.M)
    assert m, f"no '{name}' in the summary:\n{out}"
    return m.group(1)


# G.711 arrives sample-exact (measured 1.000); Opus is lossy (measured 0.93).
@pytest.mark.parametrize("codec,name,least", [("pcmu", "PCMU", 0.9), ("pcma", "PCMA", 0.9), ("opus", "opus", 0.85)])
def test_dial_records_the_welcome_prompt(demo_server, parley_bin, prompts_dir, tmp_path, codec, name, least):
    """Given the demo server, `parley dial sip:100@…` (play welcome) records what it hears:
    the recording matches prompts/welcome.wav (correlation ≥ 0.9 over G.711); the summary
    shows the answer, the codec, the packets both ways and who hung up."""
    heard = tmp_path / "heard.wav"
    r = dial(parley_bin, f"sip:100@127.0.0.1:{demo_server.sip_port}", "--record", str(heard), "--duration", "3",
             "--codec", codec)
    assert r.returncode == 0, r.stdout + r.stderr + demo_server.describe()
    assert field(r.stdout, "status") == "200 OK"
    assert field(r.stdout, "codec") == name
    sent, received = map(int, re.match(r"(\d+) sent, (\d+) received", field(r.stdout, "rtp")).groups())
    assert sent >= 100 and received >= 100, r.stdout
    assert field(r.stdout, "ended by").startswith("us after 3000 ms")
    audio, rate = rtp.read_wav(heard)
    welcome, _ = rtp.read_wav(prompts_dir / "welcome.wav")
    assert rate == 8000 and len(audio) >= 2 * 8000
    score, lag = rtp.normalized_xcorr(audio, welcome)
    assert score >= least, f"recording vs welcome.wav: {score:.3f} at {lag}"
    ended = [e for e in demo_server.events() if e.get("event") == "call.ended"]
    assert ended and ended[-1].get("cause") == "bye", ended


def menu_keys(server) -> list[tuple[str, str]]:
    return [(e.get("menu"), e.get("keys")) for e in server.events() if e.get("event") == "menu.selected"]


@pytest.mark.parametrize("option", ["--digits", "--inband-digits"])
def test_dial_navigates_the_demo_menu_with_digits(demo_server, parley_bin, option):
    """Given the demo menu (2 → support after the inter-digit timeout, * → back to main, 9 → hang up), `parley dial sip:200@…`
    with keys 2, * and 9 (RFC 4733 or in-band) walks the menus: the event log shows each key
    in its menu, and the server's hang-up ends the call before the duration."""
    # Main allows extension dialling (200-202 are numbers): after "2" the menu waits its
    # inter-digit timeout (2 s) for more keys, so "*" comes 3.5 s later.
    keys = ",,,2,,,,,,,*,,,9"
    r = dial(parley_bin, f"sip:200@127.0.0.1:{demo_server.sip_port}", option, keys, "--duration", "15")
    assert r.returncode == 0, r.stdout + r.stderr + demo_server.describe()
    assert keys in field(r.stdout, "digits sent")
    assert field(r.stdout, "ended by") == "the far end (BYE)", r.stdout
    assert menu_keys(demo_server) == [("main", "2"), ("support", "*"), ("main", "9")], demo_server.events()
    # Structured logs: every server log line from the call's first to its last names the call.
    call_id = field(r.stdout, "call-id")
    lines = demo_server.stderr.splitlines()
    mine = [i for i, line in enumerate(lines) if f"call-id={call_id}" in line]
    assert len(mine) >= 10, f"only {len(mine)} log lines name the call"
    strays = [line for line in lines[mine[0]:mine[-1] + 1] if f"call-id={call_id}" not in line]
    assert not strays, f"log lines during the call without its call-id: {strays}"


@pytest.mark.parametrize("demo_server", ['\n  auth:\n    realm: demo.example\n    challenge: all\n'
                                         '    users:\n      alice: { password: "${DEMO_ALICE_PASSWORD}", tenants: [demo] }'],
                         indirect=True)
def test_dial_answers_a_digest_challenge(demo_server, parley_bin):
    """Given a server that challenges every INVITE (the password comes from the environment
    through ${…}), `parley dial` with the right --user/--password is answered, and with a
    wrong one gets 403 and exits 1."""
    uri = f"sip:100@127.0.0.1:{demo_server.sip_port}"
    ok = dial(parley_bin, uri, "--user", "alice", "--password", "correct horse", "--duration", "1")
    assert ok.returncode == 0 and field(ok.stdout, "status") == "200 OK", ok.stdout + ok.stderr
    bad = dial(parley_bin, uri, "--user", "alice", "--password", "wrong", "--duration", "1")
    assert bad.returncode == 1 and field(bad.stdout, "status").startswith("403"), bad.stdout + bad.stderr


def test_dial_reports_a_refused_call(demo_server, parley_bin):
    """A number the tenant does not have: status 404, exit status 1, no media."""
    r = dial(parley_bin, f"sip:999@127.0.0.1:{demo_server.sip_port}", "--duration", "1")
    assert r.returncode == 1, r.stdout + r.stderr
    assert field(r.stdout, "status") == "404 Not Found"


def test_dial_rejects_bad_arguments(parley_bin):
    """Bad keys, codecs and URIs are refused before any packet is sent."""
    assert dial(parley_bin, "sip:1@127.0.0.1", "--digits", "12x").returncode != 0
    assert dial(parley_bin, "sip:1@127.0.0.1", "--codec", "g729").returncode != 0
    r = dial(parley_bin, "mailto:someone@example.com")
    assert r.returncode == 2 and "not a SIP URI" in r.stderr, r.stderr
