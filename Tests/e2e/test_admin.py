"""The admin HTTP API and Prometheus metrics against the running server: bearer-token
authentication, tenants and licence usage, mailboxes/messages/greetings through the real
SQLite store, calls with hang-up, the live event stream during a real SIP call, /metrics
after calls, bad input (malformed JSON, unknown fields, wrong types, huge bodies, path
traversal) and conformance of every response to openapi/parley-admin.yaml."""
from __future__ import annotations

import http.client
import io
import json
import os
import re
import socket
import struct
import subprocess
import threading
import time
import urllib.parse
import uuid
import wave
from pathlib import Path

import jsonschema
import pytest
import yaml

import rtp
import sipua
from conftest import REPO_ROOT, free_udp_port, free_port_block, running_server, write_config

TOKEN = "e2e-admin-token-0123456789abcdef"
SPEC_PATH = REPO_ROOT / "openapi" / "parley-admin.yaml"
NUMBERS = {"100": "{ play: welcome }"}
ADMIN_NUMBERS = {"100": "{ play: welcome }", "300": "{ conference: \"300\" }"}
ADMIN_TENANT = ("    licenses: { concurrent_calls: 3, conference: basic }\n"
                "    conferences:\n"
                "      \"300\": { announce_count: false }\n")


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def admin_yaml(port: int, host: str = "127.0.0.1", extra: str = "") -> str:
    return f"admin: {{ listen: \"{host}:{port}\", token_env: PARLEY_E2E_ADMIN_TOKEN{extra} }}\n"


class Admin:
    """A tiny HTTP/1.1 client for the admin API (one connection per request)."""

    def __init__(self, port: int, token: str | None = TOKEN):
        self.port = port
        self.token = token

    def request(self, method: str, path: str, body: bytes | str | None = None, headers: dict | None = None,
                token: str | None | bool = True, timeout: float = 10.0):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = dict(headers or {})
        tok = self.token if token is True else token
        if tok:
            h["Authorization"] = f"Bearer {tok}"
        if isinstance(body, str):
            body = body.encode()
        try:
            conn.request(method, path, body=body, headers=h)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), data
        finally:
            conn.close()

    def json(self, method: str, path: str, payload=None, **kw):
        body = None if payload is None else json.dumps(payload)
        headers = {"Content-Type": "application/json"} if body is not None else {}
        status, h, data = self.request(method, path, body=body, headers=headers, **kw)
        return status, (json.loads(data) if data and h.get("content-type", "").startswith("application/json") else data)

    def wait_up(self, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/health", timeout=1.0)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        pytest.fail(f"admin API on 127.0.0.1:{self.port} did not come up", pytrace=False)


def assert_json_error(status: int, headers: dict, data: bytes, expected: int | tuple, what: str):
    allowed = expected if isinstance(expected, tuple) else (expected,)
    assert status in allowed, f"{what}: status {status}, expected {allowed}: {data[:300]!r}"
    assert headers.get("content-type", "").startswith("application/json"), f"{what}: not JSON: {headers}"
    body = json.loads(data)
    assert body["error"]["status"] == status and body["error"]["message"], f"{what}: {body}"
    return body


def wav_bytes(seconds: float = 0.5, rate: int = 8000, freq: float = 440.0) -> bytes:
    import math
    n = int(seconds * rate)
    frames = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * freq * i / rate))) for i in range(n))
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return buf.getvalue()


def mail_yaml(relay_port: int) -> str:
    """Voicemail email to a relay that is not listening yet (the first attempt defers)."""
    return ("mail:\n"
            f"  relay: \"127.0.0.1:{relay_port}\"\n"
            "  from: voicemail@demo.example\n"
            "  starttls: off\n"
            "  retry_base: 1h\n")


@pytest.fixture
def admin_server(parley_bin, prompts_dir, tmp_path):
    port = free_tcp_port()
    relay_port = free_tcp_port()
    with running_server(parley_bin, tmp_path, prompts_dir, numbers=ADMIN_NUMBERS,
                        top_extra=admin_yaml(port, extra=", max_body: 64KB") + mail_yaml(relay_port),
                        tenant_extra=ADMIN_TENANT,
                        env={"PARLEY_E2E_ADMIN_TOKEN": TOKEN}) as server:
        api = Admin(port)
        api.wait_up()
        server.api = api
        server.relay_port = relay_port
        yield server


def create_mailbox(api: Admin, number: str = "1001", pin: str = "284613"):
    status, body = api.json("POST", "/v1/tenants/demo/mailboxes",
                            {"number": number, "name": "Alice Martin", "pin": pin, "emails": ["alice@acme.example"]})
    assert status == 201, body
    return body


def deposit(server, number: str, tmp_path: Path, parley_bin) -> str:
    """A message stored by the CLI beside the running server (same data directory)."""
    wav = tmp_path / "msg.wav"
    wav.write_bytes(wav_bytes(1.0))
    out = subprocess.run([str(parley_bin), "messages", "deposit", "--config", str(server.config_path), "demo", number, str(wav),
                          "--caller-number", "5551234"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    m = re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", out.stdout)
    assert m, out.stdout
    return m.group(0)


class SipCall:
    """A real call from the raw UA: INVITE, ACK, RTP both ways, BYE."""

    def __init__(self, server, number: str = "100"):
        self.ua = sipua.SipUA(server.sip_port)
        self.media = rtp.RtpListener()
        self.call = self.ua.invite(number, sipua.make_sdp(self.media.port))

    @property
    def status(self) -> int:
        return self.call.final.status if self.call.final is not None else 0

    def establish(self):
        assert self.status == 200, f"call not answered: {self.call.final}"
        self.call.ack()
        answer = self.call.answer_sdp
        dest = (answer["c"], answer["audio_port"])
        payload = bytes([0xFF]) * 160
        for i in range(25):
            self.media.sendto(rtp.build_rtp(0, 1000 + i, 160 * i, 0x1234, payload, marker=(i == 0)), dest)
            time.sleep(0.02)
        return self

    def info_digit(self, digit: str):
        self.call.cseq += 1
        self.ua.send_raw(self.ua.request("INFO", self.call.remote_target(), self.call.call_id, self.call.cseq, self.call.from_tag,
                                         to_tag=self.call.to_tag, to_uri=self.call.uri, body=f"Signal={digit}\r\nDuration=160\r\n",
                                         content_type="application/dtmf-relay"))
        return self.ua.wait_final(self.call.call_id, "INFO", 3.0)

    def hang_up(self):
        r = self.call.bye()
        assert r is not None and r.status == 200, r

    def close(self):
        self.media.close()
        self.ua.close()


# ---------------------------------------------------------------------------
# authentication and exposure
# ---------------------------------------------------------------------------


def test_every_endpoint_needs_the_bearer_token(admin_server):
    api = admin_server.api
    for path in ["/health", "/metrics", "/v1/tenants", "/v1/tenants/demo/mailboxes", "/v1/events", "/v1/nowhere"]:
        st, h, data = api.request("GET", path, token=None)
        assert_json_error(st, h, data, 401, f"GET {path} without a token")
        assert h.get("www-authenticate", "").startswith("Bearer"), h
        st, h, data = api.request("GET", path, token="wrong-token-of-some-length")
        assert_json_error(st, h, data, 401, f"GET {path} with a wrong token")
    st, h, data = api.request("GET", "/v1/tenants", token=None, headers={"Authorization": f"Basic {TOKEN}"})
    assert_json_error(st, h, data, 401, "Basic instead of Bearer")
    st, h, data = api.request("GET", "/v1/tenants", token=TOKEN + "x")
    assert_json_error(st, h, data, 401, "token with a character more")
    st, h, data = api.request("POST", "/v1/reload", token=None)
    assert_json_error(st, h, data, 401, "reload without a token")
    assert api.request("GET", "/health")[0] == 200


def test_no_token_in_the_environment_means_no_api(parley_bin, prompts_dir, tmp_path):
    port = free_tcp_port()
    env = {k: v for k, v in os.environ.items() if k != "PARLEY_E2E_ADMIN_TOKEN"}
    with running_server(parley_bin, tmp_path, prompts_dir, numbers=NUMBERS, top_extra=admin_yaml(port), env={}) as server:
        assert "PARLEY_E2E_ADMIN_TOKEN" not in env
        with pytest.raises(OSError):
            Admin(port).request("GET", "/health", timeout=1.0)
        assert "admin API off" in server.stderr, server.stderr_tail()


def test_a_non_loopback_listener_without_a_token_is_refused(parley_bin, prompts_dir, tmp_path):
    config = write_config(tmp_path / "parley.yaml", free_udp_port(), free_port_block(40), prompts_dir, numbers=NUMBERS,
                          top_extra=admin_yaml(free_tcp_port(), host="0.0.0.0"))
    env = {k: v for k, v in os.environ.items() if k != "PARLEY_E2E_ADMIN_TOKEN"}
    out = subprocess.run([str(parley_bin), "serve", "--config", str(config)], capture_output=True, text=True, timeout=30, env=env)
    assert out.returncode == 2, (out.returncode, out.stderr)
    assert "not a loopback address" in out.stderr and "PARLEY_E2E_ADMIN_TOKEN" in out.stderr, out.stderr


# ---------------------------------------------------------------------------
# tenants, health, reload
# ---------------------------------------------------------------------------


def test_health_readiness_tenants_and_licence_usage(admin_server):
    api = admin_server.api
    assert api.json("GET", "/health")[1]["status"] == "ok"
    assert api.json("GET", "/ready") == (200, {"status": "ready"})
    status, tenants = api.json("GET", "/v1/tenants")
    assert status == 200 and [t["name"] for t in tenants] == ["demo"], tenants
    assert tenants[0]["licences"]["concurrent_calls"] == {"in_use": 0, "limit": 3}
    assert tenants[0]["licences"]["auto_attendant"] == "standard" and tenants[0]["licences"]["voicemail"] is True
    assert tenants[0]["licences"]["conference"] == {"tier": "basic", "seats_per_room": 3,
                                                    "rooms": [{"room": "300", "in_use": 0, "limit": 3}]}
    assert "127.0.0.1" in tenants[0]["domains"] and tenants[0]["numbers"] == ["100", "300"]

    calls = [SipCall(admin_server) for _ in range(3)]
    try:
        for c in calls:
            c.establish()
        status, demo = api.json("GET", "/v1/tenants/demo")
        assert demo["licences"]["concurrent_calls"] == {"in_use": 3, "limit": 3}, demo
        # Over the licence: refused, and counted.
        over = SipCall(admin_server)
        try:
            assert over.status == 503, over.call.final
        finally:
            over.close()
        for c in calls:
            c.hang_up()
    finally:
        for c in calls:
            c.close()
    assert api.json("GET", "/v1/tenants/demo")[1]["licences"]["concurrent_calls"]["in_use"] == 0
    _, metrics = api.request("GET", "/metrics")[1:]
    assert re.search(rb'parley_licence_refusals_total\{(licence="concurrent_calls",tenant="demo"|tenant="demo",licence="concurrent_calls")\} 1', metrics), metrics.decode()[:3000]


def test_unknown_tenant_mailbox_and_call_are_404_json(admin_server):
    api = admin_server.api
    for method, path in [("GET", "/v1/tenants/nosuch"), ("GET", "/v1/tenants/nosuch/mailboxes"),
                         ("POST", "/v1/tenants/nosuch/mailboxes"), ("GET", "/v1/tenants/demo/mailboxes/4242"),
                         ("GET", f"/v1/tenants/demo/mailboxes/4242/messages"),
                         ("POST", "/v1/calls/no-such-call@x/hangup"), ("GET", "/v1/nowhere")]:
        st, h, data = api.request(method, path, body=b"{}" if method == "POST" else None)
        assert_json_error(st, h, data, 404, f"{method} {path}")


def test_reload_through_the_api_and_a_bad_file_keeps_the_old_one(admin_server):
    api = admin_server.api
    config = admin_server.config_path
    original = config.read_text()
    config.write_text(original.replace('"100": { play: welcome }', '"100": { play: welcome }\n      "200": { play: welcome }'))
    status, body = api.json("POST", "/v1/reload")
    assert status == 200 and body == {"reloaded": True, "tenants": 1}, body
    assert api.json("GET", "/v1/tenants/demo")[1]["numbers"] == ["100", "200", "300"]
    config.write_text(original + "    bogus_key: 1\n")
    st, h, data = api.request("POST", "/v1/reload")
    body = assert_json_error(st, h, data, 422, "reload of a bad file")
    assert "bogus_key" in body["error"]["message"], body
    assert api.json("GET", "/v1/tenants/demo")[1]["numbers"] == ["100", "200", "300"]


# ---------------------------------------------------------------------------
# mailboxes, messages, greetings
# ---------------------------------------------------------------------------


def test_mailbox_crud_messages_and_greetings(admin_server, parley_bin, tmp_path):
    api = admin_server.api
    created = create_mailbox(api)
    assert created["number"] == "1001" and created["options"]["max_messages"] == 100, created
    assert api.json("POST", "/v1/tenants/demo/mailboxes", {"number": "1001", "name": "x", "pin": "284613"})[0] == 409
    status, listed = api.json("GET", "/v1/tenants/demo/mailboxes")
    assert [m["number"] for m in listed] == ["1001"]

    status, changed = api.json("PATCH", "/v1/tenants/demo/mailboxes/1001",
                               {"name": "Alice M.", "options": {"max_messages": 20}, "pin": "731946"})
    assert status == 200 and changed["name"] == "Alice M." and changed["options"]["max_messages"] == 20, changed
    assert changed["options"]["max_message_seconds"] == 180, "unnamed options keep their values"
    st, h, data = api.request("PATCH", "/v1/tenants/demo/mailboxes/1001", body=json.dumps({"pin": "1111"}))
    assert_json_error(st, h, data, 422, "a PIN the policy refuses")

    # Messages: deposited by the CLI into the same store, then listed, downloaded, deleted.
    message_id = deposit(admin_server, "1001", tmp_path, parley_bin)
    status, messages = api.json("GET", "/v1/tenants/demo/mailboxes/1001/messages")
    assert status == 200 and [m["id"] for m in messages] == [message_id], messages
    assert messages[0]["caller_number"] == "5551234" and messages[0]["folder"] == "new"
    assert api.json("GET", "/v1/tenants/demo/mailboxes/1001/messages?folder=saved") == (200, [])
    assert api.json("GET", "/v1/tenants/demo/mailboxes/1001")[1]["counts"]["new"] == 1
    st, h, audio = api.request("GET", f"/v1/tenants/demo/mailboxes/1001/messages/{message_id}/audio")
    assert st == 200 and h["content-type"] == "audio/wav" and audio[:4] == b"RIFF", (st, h)
    with wave.open(io.BytesIO(audio)) as w:
        assert abs(w.getnframes() / w.getframerate() - 1.0) < 0.05
    assert api.json("DELETE", f"/v1/tenants/demo/mailboxes/1001/messages/{message_id}") == (200, {"deleted": True})
    st, h, data = api.request("GET", f"/v1/tenants/demo/mailboxes/1001/messages/{message_id}")
    assert_json_error(st, h, data, 404, "a deleted message")

    # Greetings: uploaded as WAV, listed, downloaded, removed.
    upload = wav_bytes(0.5)
    st, h, data = api.request("PUT", "/v1/tenants/demo/mailboxes/1001/greetings/unavailable", body=upload,
                              headers={"Content-Type": "audio/wav"})
    assert st == 201, data
    greeting = json.loads(data)
    assert greeting["kind"] == "unavailable" and abs(greeting["duration_ms"] - 500) <= 20, greeting
    assert [g["kind"] for g in api.json("GET", "/v1/tenants/demo/mailboxes/1001/greetings")[1]] == ["unavailable"]
    st, h, audio = api.request("GET", "/v1/tenants/demo/mailboxes/1001/greetings/unavailable")
    assert st == 200 and audio[:4] == b"RIFF"
    assert api.json("DELETE", "/v1/tenants/demo/mailboxes/1001/greetings/unavailable") == (200, {"deleted": True})
    assert api.json("DELETE", "/v1/tenants/demo/mailboxes/1001/greetings/unavailable")[0] == 404

    assert api.json("DELETE", "/v1/tenants/demo/mailboxes/1001") == (200, {"deleted": True})
    assert api.json("GET", "/v1/tenants/demo/mailboxes/1001")[0] == 404


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------


def test_bad_input_gets_4xx_json_and_never_a_crash(admin_server, tmp_path):
    api = admin_server.api
    create_mailbox(api)
    base = "/v1/tenants/demo/mailboxes"
    cases = [
        ("malformed JSON", "POST", base, b'{"number": "1002", "name": ', 400),
        ("not an object", "POST", base, b'["1002"]', 400),
        ("unknown field", "POST", base, json.dumps({"number": "1002", "name": "x", "pin": "284613", "admin": True}), 400),
        ("unknown nested field", "PATCH", f"{base}/1001", json.dumps({"options": {"max_mesages": 3}}), 400),
        ("wrong type", "POST", base, json.dumps({"number": 1002, "name": "x", "pin": "284613"}), 400),
        ("wrong nested type", "PATCH", f"{base}/1001", json.dumps({"options": {"max_messages": "many"}}), 400),
        ("missing field", "POST", base, json.dumps({"number": "1002"}), 400),
        ("out of range", "PATCH", f"{base}/1001", json.dumps({"options": {"max_messages": 0}}), 422),
        ("bad mailbox number", "POST", base, json.dumps({"number": "../1002", "name": "x", "pin": "284613"}), 400),
        ("null body", "PATCH", f"{base}/1001", b"null", 400),
        ("empty body", "POST", base, b"", 400),
        ("invalid UTF-8", "POST", base, b'{"number": "\xff\xfe"}', 400),
        ("huge JSON", "POST", base, b'{"name": "' + b"x" * 200_000 + b'"}', 413),
        ("bad folder", "GET", f"{base}/1001/messages?folder=../../etc", None, 400),
        ("bad message id", "GET", f"{base}/1001/messages/..%2F..%2Fparley.sqlite/audio", None, 400),
        ("bad greeting kind", "PUT", f"{base}/1001/greetings/..%2F..%2F..%2Fetc%2Fpasswd", wav_bytes(0.1), 400),
        ("traversal in the mailbox", "PUT", f"{base}/..%2F..%2F1001/greetings/unavailable", wav_bytes(0.1), 400),
        ("dots as the mailbox", "PUT", f"{base}/../greetings/unavailable", wav_bytes(0.1), (400, 404)),
        ("not audio", "PUT", f"{base}/1001/greetings/unavailable", b"RIFF....WAVEjunk" * 10, 422),
        ("huge upload", "PUT", f"{base}/1001/greetings/unavailable", b"\0" * (1 << 20), 413),
        ("wrong content type", "PUT", f"{base}/1001/greetings/busy", b"<html/>", 415),
        ("no such method", "DELETE", "/v1/tenants", None, (404, 405)),
    ]
    for what, method, path, body, expected in cases:
        headers = {"Content-Type": "text/html"} if what == "wrong content type" else {}
        st, h, data = api.request(method, path, body=body, headers=headers)
        assert_json_error(st, h, data, expected, what)
        assert admin_server.alive(), f"the server died on {what}{admin_server.describe()}"
    # Nothing was written outside the data directory, and the mailbox is intact.
    assert not (tmp_path / "etc").exists()
    assert api.json("GET", f"{base}/1001")[0] == 200
    assert api.json("GET", f"{base}/1001/greetings")[1] == []


# ---------------------------------------------------------------------------
# calls and events
# ---------------------------------------------------------------------------


class EventReader:
    """Reads the live stream in a thread; `sse` picks Server-Sent Events over NDJSON."""

    def __init__(self, port: int, sse: bool = False):
        self.events: list[dict] = []
        self.raw = b""
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        if sse:
            headers["Accept"] = "text/event-stream"
        self.conn.request("GET", "/v1/events", headers=headers)
        self.resp = self.conn.getresponse()
        assert self.resp.status == 200
        self.sse = sse
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            while True:
                chunk = self.resp.read1(65536)
                if not chunk:
                    return
                self.raw += chunk
                lines = self.raw.split(b"\n")
                parsed = []
                for line in lines[:-1]:
                    if self.sse:
                        if line.startswith(b"data: "):
                            parsed.append(json.loads(line[6:]))
                    elif line.strip():
                        parsed.append(json.loads(line))
                self.events = parsed
        except (OSError, ValueError, AttributeError, http.client.HTTPException):  # AttributeError: closed under us
            return

    def wait(self, pred, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for e in list(self.events):
                if pred(e):
                    return e
            time.sleep(0.05)
        return None

    def close(self):
        self.conn.close()


@pytest.mark.parametrize("sse", [False, True], ids=["ndjson", "sse"])
def test_event_stream_sees_a_real_call_start_and_end(admin_server, sse):
    reader = EventReader(admin_server.api.port, sse=sse)
    call = SipCall(admin_server)
    try:
        call.establish()
        call_id = call.call.call_id
        received = reader.wait(lambda e: e["event"] == "call.received" and e["call_id"] == call_id)
        assert received and received["tenant"] == "demo" and received["number"] == "100" and received["app"] == "play", reader.events
        assert reader.wait(lambda e: e["event"] == "call.answered" and e["call_id"] == call_id)
        call.hang_up()
        ended = reader.wait(lambda e: e["event"] == "call.ended" and e["call_id"] == call_id)
        assert ended and ended["cause"] == "bye" and ended["rtp_in"] >= 20, reader.events
        # The stream carries the same lines as the event log file.
        logged = [e for e in admin_server.events() if e.get("call_id") == call_id]
        streamed = [e for e in reader.events if e.get("call_id") == call_id]
        assert streamed == logged[:len(streamed)] and len(streamed) >= 3
        if sse:
            assert b"event: call.received\ndata: {" in reader.raw
    finally:
        call.close()
        reader.close()


def test_event_streams_are_capped_and_a_closed_one_frees_its_place(parley_bin, prompts_dir, tmp_path):
    """Given admin.max_event_streams 2: two streams open, a third gets 503 JSON with
    Retry-After; once one closes, a new one opens."""
    port = free_tcp_port()
    with running_server(parley_bin, tmp_path, prompts_dir, numbers=NUMBERS,
                        top_extra=admin_yaml(port, extra=", max_event_streams: 2"),
                        env={"PARLEY_E2E_ADMIN_TOKEN": TOKEN}) as server:
        api = Admin(port)
        api.wait_up()
        first, second = EventReader(port), EventReader(port)
        try:
            st, h, data = api.request("GET", "/v1/events")
            assert_json_error(st, h, data, 503, "a third event stream")
            assert h.get("retry-after") == "30", h
            first.conn.sock.shutdown(socket.SHUT_RDWR)
            first.close()
            # The server notices the closed stream when a write fails: a keep-alive goes every
            # 15 s, and the first one after the close only draws the reset.
            deadline = time.monotonic() + 35.0
            while True:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/v1/events", headers={"Authorization": f"Bearer {TOKEN}"})
                status = conn.getresponse().status
                conn.close()
                if status == 200 or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert status == 200, f"no stream after one closed: {status}{server.describe()}"
        finally:
            first.close()
            second.close()


def test_calls_list_and_hang_up(admin_server):
    api = admin_server.api
    call = SipCall(admin_server)
    try:
        call.establish()
        status, calls = api.json("GET", "/v1/calls")
        assert status == 200 and len(calls) == 1, calls
        c = calls[0]
        assert c["call_id"] == call.call.call_id and c["tenant"] == "demo" and c["app"] == "play" and c["state"] == "confirmed", c
        assert c["codec"] == "PCMU" and c["media"]["packets_in"] >= 1, c
        assert api.json("GET", "/v1/calls?tenant=other")[1] == []
        quoted = urllib.parse.quote(call.call.call_id, safe="")
        assert api.json("POST", f"/v1/calls/{quoted}/hangup") == (200, {"call_id": call.call.call_id, "hung_up": True})
        bye = call.ua.wait_request("BYE", call.call.call_id, 3.0)
        assert bye is not None, "the caller got no BYE"
        ended = admin_server.wait_event(lambda e: e["event"] == "call.ended" and e["call_id"] == call.call.call_id, 3.0)
        assert ended and ended["cause"] == "admin", ended
        assert api.json("GET", "/v1/calls")[1] == []
        assert api.json("POST", f"/v1/calls/{quoted}/hangup")[0] == 404
    finally:
        call.close()


# ---------------------------------------------------------------------------
# conferences
# ---------------------------------------------------------------------------


def wait_room(api: Admin, pred, timeout: float = 8.0):
    deadline = time.monotonic() + timeout
    room = None
    while time.monotonic() < deadline:
        status, room = api.json("GET", "/v1/tenants/demo/conferences/300")
        if status == 200 and pred(room):
            return room
        time.sleep(0.1)
    pytest.fail(f"room 300 never matched: {room}", pytrace=False)


def join_room(server, count: int = 2):
    from test_conference import Party, Sender
    parties = [Party(server, "300", "PCMU", 400 + 300 * i) for i in range(count)]
    assert all(p.status == 200 for p in parties), [p.status for p in parties]
    return parties, Sender(parties)  # both send (a silent leg would reach the media timeout)


def test_conference_rooms_participants_mute_lock_and_kick(admin_server):
    api = admin_server.api
    assert api.json("GET", "/v1/conferences") == (200, [])
    st, h, data = api.request("GET", "/v1/tenants/demo/conferences/300")
    assert_json_error(st, h, data, 404, "a room no one is in")
    parties, sender = join_room(admin_server)
    try:
        room = wait_room(api, lambda r: len(r["participants"]) == 2 and all(p["talking"] for p in r["participants"]))
        speaker, listener = room["participants"]
        assert speaker["call_id"] == parties[0].call.call_id and listener["call_id"] == parties[1].call.call_id, room
        assert room["locked"] is False and room["limit"] == 3 and room["mixing_rate"] == 8000, room
        quality = speaker["quality"]
        assert quality["packets_expected"] >= 1 and quality["packets_lost"] == 0 and quality["jitter_buffer_ms"] >= 0, quality
        assert [r["room"] for r in api.json("GET", "/v1/conferences")[1]] == ["300"]
        assert [r["room"] for r in api.json("GET", "/v1/tenants/demo/conferences")[1]] == ["300"]
        # Seats of the conference licence: two of room 300's three taken.
        seats = api.json("GET", "/v1/tenants/demo")[1]["licences"]["conference"]
        assert seats == {"tier": "basic", "seats_per_room": 3, "rooms": [{"room": "300", "in_use": 2, "limit": 3}]}, seats

        base = "/v1/tenants/demo/conferences/300"
        status, room = api.json("POST", f"{base}/participants/{speaker['id']}/mute")
        assert status == 200 and room["participants"][0]["muted"] is True and room["participants"][1]["muted"] is False, room
        status, room = api.json("POST", f"{base}/participants/{speaker['id']}/unmute")
        assert room["participants"][0]["muted"] is False
        assert api.json("POST", f"{base}/mute-others")[1]["participants"][1]["muted"] is True
        assert api.json("POST", f"{base}/unmute-others")[1]["participants"][1]["muted"] is False
        assert api.json("POST", f"{base}/lock")[1]["locked"] is True
        assert api.json("POST", f"{base}/unlock")[1]["locked"] is False
        for bad, code in [(f"{base}/participants/999/mute", 404), (f"{base}/participants/x/kick", 400),
                          ("/v1/tenants/demo/conferences/399/lock", 404), ("/v1/tenants/nosuch/conferences/300/lock", 404)]:
            st, h, data = api.request("POST", bad)
            assert_json_error(st, h, data, code, bad)

        assert api.json("POST", f"{base}/participants/{listener['id']}/kick") == (200, {"participant": listener["id"], "kicked": True})
        assert parties[1].wait_bye(3.0) is not None, "the kicked caller got no BYE"
        parties[1].status = None  # its call is over
        wait_room(api, lambda r: [p["id"] for p in r["participants"]] == [speaker["id"]])
        assert api.json("GET", "/v1/tenants")[1][0]["licences"]["conference"]["rooms"] == [{"room": "300", "in_use": 1, "limit": 3}]
    finally:
        sender.close()
        for p in parties:
            p.close()


# ---------------------------------------------------------------------------
# mail spool
# ---------------------------------------------------------------------------


def test_mail_status_and_retry_now_deliver_a_deferred_message(admin_server, parley_bin, tmp_path):
    """A message spooled while the relay is down is deferred (retry in an hour); once the
    relay is up, retry-now delivers it at once."""
    from test_mail import Relay, start_relay
    api = admin_server.api
    status, body = api.json("POST", "/v1/tenants/demo/mailboxes",
                            {"number": "1001", "name": "Alice", "pin": "284613", "emails": ["alice@demo.example"]})
    assert status == 201, body
    message_id = deposit(admin_server, "1001", tmp_path, parley_bin)
    sent = subprocess.run([str(parley_bin), "mail", "send", "--config", str(admin_server.config_path), "demo", "1001", message_id],
                          capture_output=True, text=True, timeout=30)
    assert sent.returncode == 0, sent.stderr
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        status, mail = api.json("GET", "/v1/mail")
        if status == 200 and mail["deferred"] == 1:
            break
        time.sleep(0.2)
    assert status == 200 and mail["queued"] == 1 and mail["deferred"] == 1 and mail["delivered_total"] == 0, mail
    handler = Relay()
    controller = start_relay(handler, admin_server.relay_port)
    try:
        status, mail = api.json("POST", "/v1/mail/retry")
        assert status == 200, mail
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not (mail["queued"] == 0 and mail["delivered_total"] == 1):
            time.sleep(0.2)
            mail = api.json("GET", "/v1/mail")[1]
        assert mail["queued"] == 0 and mail["delivered_total"] == 1, mail
        assert handler.delivered(), "the relay got nothing"
    finally:
        controller.stop()


# ---------------------------------------------------------------------------
# metrics
# ---------------------------------------------------------------------------


def metric(text: str, name: str, **labels) -> float | None:
    """The value of one sample; labels must all match (order-free)."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(m.group(4))
    return None


def test_metrics_count_calls_sip_responses_rtp_dtmf_and_tick_lateness(admin_server):
    api = admin_server.api
    call = SipCall(admin_server)
    try:
        call.establish()
        info = call.info_digit("5")
        assert info is not None and info.status == 200, info
        assert admin_server.wait_event(lambda e: e["event"] == "dtmf" and e["call_id"] == call.call.call_id, 3.0)
        call.hang_up()
    finally:
        call.close()
    assert admin_server.wait_event(lambda e: e["event"] == "call.ended", 3.0)
    st, h, data = api.request("GET", "/metrics")
    assert st == 200 and h["content-type"].startswith("text/plain"), h
    text = data.decode()
    assert metric(text, "parley_calls_total", app="play", outcome="bye") == 1, text
    assert metric(text, "parley_sip_responses_total", code="200") >= 3, "INVITE, INFO and BYE were answered 200"
    assert metric(text, "parley_sip_responses_total", code="100") >= 1
    assert metric(text, "parley_rtp_packets_total", direction="in") >= 20, text
    assert metric(text, "parley_rtp_packets_total", direction="out") >= 1
    assert metric(text, "parley_dtmf_digits_total", source="info") == 1, text
    assert metric(text, "parley_media_tick_lateness_seconds_count") > 0
    assert metric(text, "parley_media_tick_lateness_seconds_bucket", le="+Inf") == metric(text, "parley_media_tick_lateness_seconds_count")
    assert "# TYPE parley_jitter_buffer_delay_seconds histogram" in text
    assert metric(text, "parley_jitter_buffer_delay_seconds_count") >= 1
    assert metric(text, "parley_media_datagrams_received_total") >= 20
    # Every sample line is well formed (a scraper would reject the page otherwise).
    for line in text.splitlines():
        assert line.startswith("#") or re.match(r"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? -?[0-9.eE+-]+(Inf)?$", line), line


# ---------------------------------------------------------------------------
# OpenAPI conformance
# ---------------------------------------------------------------------------


def test_every_response_conforms_to_the_openapi_document(admin_server, parley_bin, tmp_path):
    """Walks every path and method of the document against the running server with real
    values, checks each status is documented and each JSON body validates against its schema;
    and checks that a path the document does not list is not served."""
    spec = yaml.safe_load(SPEC_PATH.read_text())
    api = admin_server.api
    create_mailbox(api)
    message_id = deposit(admin_server, "1001", tmp_path, parley_bin)
    upload = wav_bytes(0.3)
    assert api.request("PUT", "/v1/tenants/demo/mailboxes/1001/greetings/busy", body=upload, headers={"Content-Type": "audio/wav"})[0] == 201
    call = SipCall(admin_server)
    call.establish()
    parties, sender = join_room(admin_server)
    room = wait_room(api, lambda r: len(r["participants"]) == 2)
    values = {"tenant": "demo", "mailbox": "1001", "message": message_id, "kind": "busy",
              "call_id": urllib.parse.quote(call.call.call_id, safe=""), "room": "300",
              "participant": str(room["participants"][1]["id"])}
    bodies = {
        ("post", "/v1/tenants/{tenant}/mailboxes"): (json.dumps({"number": "1002", "name": "Bob", "pin": "590217"}), "application/json"),
        ("patch", "/v1/tenants/{tenant}/mailboxes/{mailbox}"): (json.dumps({"name": "Alice"}), "application/json"),
        ("put", "/v1/tenants/{tenant}/mailboxes/{mailbox}/greetings/{kind}"): (upload, "audio/wav"),
    }
    # Deletions and the hang-up last, so every other path still has something to show.
    order = sorted(((p, m) for p, ops in spec["paths"].items() for m in ops if m in ("get", "post", "put", "patch", "delete")),
                   key=lambda pm: (pm[1] == "delete" or "hangup" in pm[0] or "kick" in pm[0], pm[0].count("/") * (-1 if pm[1] == "delete" else 1)))
    checked = []
    try:
        for path, method in order:
            op = spec["paths"][path][method]
            url = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)
            if path == "/v1/events":
                reader = EventReader(api.port)
                assert reader.resp.getheader("Content-Type") == "application/x-ndjson"
                reader.close()
                checked.append((method, path, 200))
                continue
            body, ctype = bodies.get((method, path), (None, None))
            st, h, data = api.request(method.upper(), url, body=body, headers={"Content-Type": ctype} if ctype else {})
            responses = op["responses"]
            assert str(st) in responses, f"{method.upper()} {url}: status {st} is not documented ({sorted(responses)}): {data[:300]!r}"
            assert st < 300, f"{method.upper()} {url} with valid values failed: {st} {data[:300]!r}"
            response = responses[str(st)]
            if "$ref" in response:
                response = resolve(spec, response["$ref"])
            content = response.get("content", {})
            ctype_got = h.get("content-type", "").split(";")[0]
            assert ctype_got in content, f"{method.upper()} {url}: content type {ctype_got} not in {list(content)}"
            if ctype_got == "application/json":
                validate(spec, content[ctype_got]["schema"], json.loads(data), f"{method.upper()} {url}")
            checked.append((method, path, st))
            # Error bodies conform too: an unauthenticated request to each path.
            st, h, data = api.request(method.upper(), url, token=None)
            assert st == 401 and "401" in op["responses"], f"{method.upper()} {url} without a token: {st}"
            validate(spec, {"$ref": "#/components/schemas/Error"}, json.loads(data), f"401 from {url}")
    finally:
        sender.close()
        for p in parties:
            p.close()
        call.close()
    assert len(checked) == sum(len([m for m in ops if m in ("get", "post", "put", "patch", "delete")]) for ops in spec["paths"].values())
    st, h, data = api.request("GET", "/v1/undocumented")
    assert st == 404


def resolve(spec: dict, ref: str):
    node = spec
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


def validate(spec: dict, schema: dict, instance, what: str):
    """JSON Schema validation of an OpenAPI 3.0 schema, its $refs resolved in the document."""
    root = dict(spec)
    root.update(schema)
    try:
        jsonschema.Draft7Validator(root, format_checker=jsonschema.FormatChecker()).validate(instance)
    except jsonschema.ValidationError as e:
        pytest.fail(f"{what}: response does not match the OpenAPI schema: {e.message} at {list(e.absolute_path)}\n{json.dumps(instance)[:500]}", pytrace=False)


def test_sigterm_drains_with_readiness_503_and_ends_open_event_streams(parley_bin, prompts_dir, tmp_path):
    """SIGTERM with a call up and a live stream open: the API stays up through the drain
    (readiness 503 draining), the stream sees the call end, and the process exits 0."""
    from conftest import start_server, stop_server
    port = free_tcp_port()
    server = start_server(parley_bin, tmp_path, prompts_dir, numbers=NUMBERS, top_extra=admin_yaml(port),
                          env={"PARLEY_E2E_ADMIN_TOKEN": TOKEN})
    api = Admin(port)
    api.wait_up()
    reader = EventReader(port)
    call = SipCall(server)
    try:
        call.establish()
        server.proc.send_signal(15)
        deadline = time.monotonic() + 1.5
        ready = None
        while time.monotonic() < deadline:
            ready = api.json("GET", "/ready")
            if ready[0] == 503:
                break
            time.sleep(0.05)
        assert ready == (503, {"status": "draining"}), ready
        # shutdown_grace is 2 s: the call is ended with BYE, which the stream reports.
        assert reader.wait(lambda e: e["event"] == "call.ended" and e["call_id"] == call.call.call_id, 8.0), reader.events
        assert server.proc.wait(timeout=10) == 0, server.describe()
        reader.thread.join(timeout=5)
        assert not reader.thread.is_alive(), "the event stream did not end with the server"
    finally:
        call.close()
        reader.close()
        if server.alive():
            stop_server(server)
