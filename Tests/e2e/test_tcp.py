"""SIP over TCP (RFC 3261 §18): framing by Content-Length, responses on the same connection."""
from __future__ import annotations

import socket
import subprocess
import time

import pytest

from conftest import free_udp_port, running_server


@pytest.fixture
def tcp_server(parley_bin, prompts_dir, tmp_path):
    with running_server(parley_bin, tmp_path, prompts_dir, tcp=True) as server:
        yield server


def options(n: int, port: int, content_length: bool = True) -> bytes:
    lines = [f"OPTIONS sip:127.0.0.1:{port} SIP/2.0", f"Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKtcp{n}",
             "Max-Forwards: 70", f"From: <sip:t@127.0.0.1>;tag=t{n}", "To: <sip:127.0.0.1>",
             f"Call-ID: tcp-{n}@e2e", f"CSeq: {n} OPTIONS"]
    if content_length:
        lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_responses(sock: socket.socket, count: int, timeout: float = 3.0) -> list[str]:
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while data.count(b"SIP/2.0 ") < count and time.monotonic() < deadline:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return [line for line in data.decode(errors="replace").split("\r\n") if line.startswith("SIP/2.0 ")]


def test_messages_are_framed_by_content_length(tcp_server):
    """Two requests in one write and one split across two writes get three 200s on the same
    connection, in order."""
    port = tcp_server.sip_port
    with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
        sock.sendall(options(1, port) + options(2, port))
        third = options(3, port)
        sock.sendall(third[:17])
        time.sleep(0.2)
        sock.sendall(third[17:])
        statuses = read_responses(sock, 3)
    assert statuses == ["SIP/2.0 200 OK"] * 3, statuses


def test_a_request_without_content_length_gets_400_and_the_connection_closes(tcp_server):
    """On a stream, no Content-Length means the next message cannot be found: 400, then close."""
    port = tcp_server.sip_port
    with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
        sock.sendall(options(1, port, content_length=False))
        statuses = read_responses(sock, 1)
        assert statuses and statuses[0].startswith("SIP/2.0 400"), statuses
        sock.settimeout(3)
        assert sock.recv(100) == b"", "the connection stayed open after an unframeable message"
    assert tcp_server.alive()


def test_a_call_over_tcp_with_sipp(tcp_server, sipp_bin, tmp_path):
    """SIPp's own caller over TCP (-t t1): INVITE, ACK, 2 s of call, BYE, all answered."""
    res = subprocess.run([sipp_bin, "-t", "t1", "-sn", "uac", "-s", "100", "-m", "1", "-d", "2000",
                          "-p", str(free_udp_port()), "-timeout", "15", "-timeout_error", "-trace_err",
                          f"127.0.0.1:{tcp_server.sip_port}"],
                         cwd=tmp_path, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    assert res.returncode == 0, f"SIPp over TCP failed ({res.returncode}):\n{res.stdout.decode()[-1500:]}{tcp_server.describe()}"
    ended = tcp_server.wait_event(lambda e: e.get("event") == "call.ended", 3.0)
    assert ended is not None and ended.get("cause") == "bye", ended
