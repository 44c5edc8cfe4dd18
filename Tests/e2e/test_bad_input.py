"""Bad input (issue "SIP signalling", Bad input and Max-Forwards): unknown methods (501),
requests for unknown dialogs (481), Max-Forwards exhausted (483), header bombs, absurd
Content-Length and oversized messages over UDP and TCP, all answered or dropped while the
server's memory stays bounded. (400 for malformed requests and 420 are in test_call.py and
test_dialog.py.)"""
from __future__ import annotations

import random
import socket
import time

import pytest

import sipua
from conftest import running_server


@pytest.fixture
def server(parley_bin, prompts_dir, tmp_path):
    with running_server(parley_bin, tmp_path, prompts_dir, tcp=True) as s:
        yield s


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def request(ua: sipua.SipUA, method: str, call_id: str, extra: list[str] | None = None, uri: str | None = None,
            branch: str | None = None, body: str = "", content_type: str | None = None) -> str:
    uri = uri or f"sip:100@127.0.0.1:{ua.server[1]}"
    return ua.request(method, uri, call_id, 1, "t" + call_id[:6], extra=extra, branch=branch, body=body, content_type=content_type)


def final(ua: sipua.SipUA, call_id: str, timeout: float = 2.0):
    return ua.wait_for(lambda m: m.is_response and m.status >= 200 and m.get("call-id") == call_id, timeout)


def test_an_unknown_method_gets_501_with_allow(server):
    with sipua.SipUA(server.sip_port) as ua:
        ua.send_raw(request(ua, "FROBNICATE", "m501"))
        r = final(ua, "m501")
        assert r is not None and r.status == 501, r
        allow = {m.strip() for m in (r.get("allow") or "").split(",")}
        assert {"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS"} <= allow, r


@pytest.mark.parametrize("method", ["BYE", "CANCEL", "INFO", "UPDATE"])
def test_requests_for_unknown_dialogs_get_481(server, method):
    with sipua.SipUA(server.sip_port) as ua:
        call_id = f"nodialog-{method}"
        extra = ["Content-Type: application/dtmf-relay"] if method == "INFO" else []
        ua.send_raw(ua.request(method, f"sip:100@127.0.0.1:{server.sip_port}", call_id, 2, "t1", to_tag="nosuchtag",
                               extra=extra))
        r = final(ua, call_id)
        assert r is not None and r.status == 481, f"{method} outside a dialog: {r and r.start_line}"


def test_an_invite_with_max_forwards_0_gets_483_and_1_is_accepted(server):
    """RFC 3261 §8.2.2 / §16.3: a request that may travel no further is refused with 483 Too Many
    Hops; Max-Forwards 1 still reaches us."""
    with sipua.SipUA(server.sip_port) as ua:
        msg = request(ua, "INVITE", "mf0", body=sipua.make_sdp(40000)).replace("Max-Forwards: 70", "Max-Forwards: 0")
        ua.send_raw(msg)
        r = final(ua, "mf0")
        assert r is not None and r.status == 483, r
        msg = request(ua, "INVITE", "mf1", body=sipua.make_sdp(40000)).replace("Max-Forwards: 70", "Max-Forwards: 1")
        ua.send_raw(msg)
        r = final(ua, "mf1")
        assert r is not None and r.status == 200, r
        bye = ua.request("BYE", r.get("contact").strip("<>"), "mf1", 2, "tmf1", to_tag=sipua.tag_of(r.get("to")),
                         to_uri=f"sip:100@127.0.0.1:{server.sip_port}")
        ua.send_raw(bye)
    refused = [e for e in server.events() if e.get("event") == "call.refused"]
    assert [e.get("status") for e in refused] == [483], refused


def test_header_bombs_are_dropped_and_big_but_valid_requests_answered(server):
    """Over UDP: 5000 header lines or 1000 Via headers (over the limit of 256 header lines)
    are dropped (and logged) rather than answered; a 60 kB header value, a Contact with
    20000 parameters and a 54 kB Authorization are within the 64 KiB limit and answered 200;
    6000 unsupported Require tags get 420 listing only a few of them."""
    port = server.sip_port
    with sipua.SipUA(port) as ua:
        head = (f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{ua.local_port};branch=z9hG4bKbomb{{n}}\r\n"
                f"From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: bomb{{n}}@e2e\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n")
        bombs = [
            (head.format(n=1) + "X-A: b\r\n" * 5000, None),
            (head.format(n=2) + f"Via: SIP/2.0/UDP 127.0.0.1:{ua.local_port};branch=z9hG4bKv\r\n" * 1000, None),
            (head.format(n=3) + "X-Big: " + "a" * 60000 + "\r\n", 200),
            (head.format(n=4) + "Contact: <sip:x@y" + ";p" * 20000 + ">\r\n", 200),
            (head.format(n=5) + "Require: " + ",".join(f"x{i}" for i in range(6000)) + "\r\n", 420),
            (head.format(n=6) + "Authorization: Digest " + "a=\"b\"," * 9000 + "\r\n", 200),
        ]
        for n, (text, expected) in enumerate(bombs, start=1):
            data = text + "Content-Length: 0\r\n\r\n"
            assert 30000 < len(data.encode()) < 65000
            ua.send_raw(data)
            r = ua.wait_for(lambda m: m.is_response and m.get("call-id") == f"bomb{n}@e2e", 1.0)
            assert (r.status if r else None) == expected, f"bomb {n}: {r and r.start_line}, expected {expected}"
            if expected == 420:   # no amplification: the answer lists a few tags, not all 6000
                assert len(r.get("unsupported") or "") < 200, r.get("unsupported")
        assert server.alive(), server.describe()
        assert ua.options() is not None, "no answer to OPTIONS after the bombs" + server.describe()
    assert server.stderr.count("more than 256 header lines") == 2, server.stderr_tail()


def test_an_invite_larger_than_2_kib_is_answered(server):
    """A UDP INVITE of about 6 kB (an SDP with many attributes) is read whole and answered 200."""
    with sipua.SipUA(server.sip_port) as ua:
        sdp = sipua.make_sdp(40000) + "".join(f"a=x-filler-{i}:{'f' * 100}\r\n" for i in range(50))
        call = ua.invite("100", sdp, timeout=3.0)
        assert len(sdp) > 5000
        assert call.final is not None and call.final.status == 200, call.final and call.final.start_line
        call.ack()
        assert call.bye().status == 200


def test_absurd_content_length_over_udp_is_refused(server):
    port = server.sip_port
    with sipua.SipUA(port) as ua:
        for n, value in enumerate(["18446744073709551616", "-1", "99999999999999999999999999", "1e9", "0x10", " 4294967296"]):
            call_id = f"cl{n}"
            msg = (f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{ua.local_port};branch=z9hG4bKcl{n}\r\n"
                   f"From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
                   f"Content-Length: {value}\r\n\r\nbody")
            ua.send_raw(msg)
            r = final(ua, call_id, 1.0)
            assert r is None or r.status == 400, f"Content-Length {value!r}: {r.start_line}"
        assert ua.options() is not None
    assert server.alive()


def tcp_options(port: int, content_length: str, n: int = 1) -> bytes:
    return (f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKtcl{n}\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:t@127.0.0.1>;tag=t\r\nTo: <sip:127.0.0.1>\r\nCall-ID: tcl-{n}@e2e\r\n"
            f"CSeq: 1 OPTIONS\r\nContent-Length: {content_length}\r\n\r\n").encode()


def read_until_closed(sock: socket.socket, timeout: float) -> tuple[bytes, bool]:
    sock.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return data, True
            data += chunk
    except socket.timeout:
        return data, False
    except ConnectionResetError:
        return data, True


def test_absurd_content_length_over_tcp_gets_400_and_a_close_at_once(server):
    """On a stream a Content-Length of 4 GiB cannot be waited for: 400 and the connection is
    closed without reading on."""
    for n, value in enumerate(["4294967296", "18446744073709551616", "-5"]):
        with socket.create_connection(("127.0.0.1", server.sip_port), timeout=3) as sock:
            sock.sendall(tcp_options(server.sip_port, value, n))
            data, closed = read_until_closed(sock, 3.0)
            assert data.startswith(b"SIP/2.0 400"), f"Content-Length {value}: {data[:80]!r}"
            assert closed, f"Content-Length {value}: connection left open"
    assert server.alive()


def test_oversized_and_endless_messages_do_not_grow_memory(server):
    """Twenty TCP connections each sending 1 MiB of header that never ends, and a thousand
    64 kB UDP datagrams of garbage: each connection gets 400 and is closed once the 64 KiB
    message limit is passed; the server's resident memory grows by less than 40 MiB."""
    port = server.sip_port
    before = rss_kib(server.proc.pid)
    chunk = b"X-Endless: " + b"a" * 65000 + b"\r\n"
    for n in range(20):
        with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
            sock.sendall(f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKend{n}\r\n".encode())
            closed = False
            try:
                for _ in range(16):
                    sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                closed = True
            data, eof = read_until_closed(sock, 3.0)
            assert closed or eof, "an endless header kept the connection open"
            assert not data or data.startswith(b"SIP/2.0 400"), data[:80]
    rng = random.Random(5)
    garbage = bytes(rng.getrandbits(8) for _ in range(64000))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        for _ in range(1000):
            udp.sendto(garbage, ("127.0.0.1", port))
    time.sleep(1.0)
    with sipua.SipUA(port) as ua:
        assert ua.options(timeout=3.0) is not None, "no answer to OPTIONS afterwards" + server.describe()
    grown = rss_kib(server.proc.pid) - before
    assert grown < 40 * 1024, f"resident memory grew by {grown} KiB"
    print(f"RSS before {before} KiB, after {before + grown} KiB")


def test_a_merged_invite_arriving_by_another_path_gets_482(server):
    """The same INVITE (From tag, Call-ID, CSeq) arriving again with another Via branch while
    the first is in progress has come by a second path (a fork or a loop): 482 Loop Detected."""
    with sipua.SipUA(server.sip_port) as ua:
        sdp = sipua.make_sdp(40000)
        first = request(ua, "INVITE", "merged", branch="z9hG4bKpath1", body=sdp)
        ua.send_raw(first)
        r = final(ua, "merged")
        assert r is not None and r.status == 200, r
        ua.send_raw(first.replace("z9hG4bKpath1", "z9hG4bKpath2"))
        r2 = ua.wait_for(lambda m: m.is_response and m.status >= 200 and "z9hG4bKpath2" in (m.get("via") or ""), 2.0)
        assert r2 is not None and r2.status == 482, r2 and r2.start_line
