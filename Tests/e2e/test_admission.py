"""Admission: only trusted networks may call; a flooding source is throttled, others are not."""
from __future__ import annotations

import socket
import time

import pytest

import rtp
import sipua
from conftest import running_server


@pytest.fixture
def untrusted_server(parley_bin, prompts_dir, tmp_path):
    with running_server(parley_bin, tmp_path, prompts_dir, sip_extra="  trusted: [\"10.0.0.0/8\", \"2001:db8::/32\"]\n") as server:
        yield server


@pytest.fixture
def throttled_server(parley_bin, prompts_dir, tmp_path):
    with running_server(parley_bin, tmp_path, prompts_dir, sip_extra="  rate_limit: { requests_per_second: 5, burst: 10 }\n") as server:
        yield server


def test_invite_from_an_untrusted_network_gets_403(untrusted_server):
    """Given trusted networks that exclude 127.0.0.1, an INVITE from there gets 403 with a
    Warning naming the address, while OPTIONS is still answered."""
    with sipua.SipUA(untrusted_server.sip_port) as ua, rtp.RtpListener() as listener:
        call = ua.invite("100", sipua.make_sdp(listener.port), timeout=3.0)
        assert call.final is not None and call.final.status == 403, call.final
        assert "127.0.0.1" in (call.final.get("warning") or ""), call.final
        options = ua.options()
        assert options is not None and options.status == 200


def options_from(sock: socket.socket, port: int, n: int):
    host, local = sock.getsockname()
    msg = (f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP {host}:{local};branch=z9hG4bKf{n}\r\n"
           f"Max-Forwards: 70\r\nFrom: <sip:f@{host}>;tag=f\r\nTo: <sip:127.0.0.1>\r\nCall-ID: flood-{host}-{n}\r\n"
           f"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
    sock.sendto(msg.encode(), ("127.0.0.1", port))


def test_a_flooding_source_is_throttled_and_others_are_not(throttled_server):
    """Given 5 requests/s with a burst of 10 per source address, 100 OPTIONS sent at once from
    127.0.0.1 get about 10 answers; another source address (127.0.0.2) is answered meanwhile;
    the first is answered again a second later; the server stays up."""
    port = throttled_server.sip_port
    flood = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    flood.bind(("127.0.0.1", 0))
    flood.settimeout(0.3)
    other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    other.bind(("127.0.0.2", 0))
    other.settimeout(2.0)
    try:
        for n in range(100):
            options_from(flood, port, n)
        answered = 0
        try:
            while True:
                flood.recv(65535)
                answered += 1
        except socket.timeout:
            pass
        assert 8 <= answered <= 14, f"{answered} of 100 flood requests answered (expected about the burst of 10)"
        options_from(other, port, 1)
        assert other.recv(65535).startswith(b"SIP/2.0 200"), "another source was throttled with the flooder"
        time.sleep(1.2)
        with sipua.SipUA(port) as again:
            assert again.options() is not None, "the flooding host was not answered again after a second"
    finally:
        flood.close()
        other.close()
    assert throttled_server.alive()


def test_a_full_transaction_table_answers_503_and_the_server_stays_up(parley_bin, prompts_dir, tmp_path):
    """Given room for 100 server transactions (each OPTIONS lingers 32 s, Timer J; the
    readiness probe holds one or two), 160 distinct OPTIONS get 200 until the table is full
    and 503 with Retry-After from then on; an INVITE is refused the same way, the server
    logs it and stays up, and still answers a retransmission of a request it holds."""
    extra = "  max_transactions: 100\n  rate_limit: { requests_per_second: 100000, burst: 100000 }\n"
    with running_server(parley_bin, tmp_path, prompts_dir, sip_extra=extra) as server:
        port = server.sip_port
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(2.0)
        statuses: list[int] = []
        retry_after = set()
        try:
            for n in range(160):
                options_from(sock, port, n)
                data = sock.recv(65535).decode(errors="replace")
                status = int(data.split(" ", 2)[1])
                statuses.append(status)
                if status == 503:
                    retry_after |= {line.split(":", 1)[1].strip() for line in data.split("\r\n")
                                    if line.lower().startswith("retry-after:")}
            ok = statuses.count(200)
            assert 95 <= ok <= 100 and statuses == [200] * ok + [503] * (160 - ok), statuses
            assert retry_after == {"5"}, retry_after
            # A retransmission of a held request is answered from its transaction, full or not.
            options_from(sock, port, 7)
            again = sock.recv(65535).decode(errors="replace")
            assert again.startswith("SIP/2.0 200"), again
        finally:
            sock.close()
        with sipua.SipUA(port) as ua, rtp.RtpListener() as listener:
            call = ua.invite("100", sipua.make_sdp(listener.port), timeout=3.0)
            assert call.final is not None and call.final.status == 503, call.final
        assert server.alive(), server.describe()
        assert "SIP transaction table full" in server.stderr, server.stderr_tail()
