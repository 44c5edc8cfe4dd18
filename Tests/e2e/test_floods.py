"""Floods against the SIP transport (issue 16, "Bounded under floods"), each while a normal
caller is served and timed.

Attackers use other loopback addresses (127.0.0.66, 127.0.1.x), so the per-source rate
limit that throttles them leaves the normal caller on 127.0.0.1 alone. Every flood is
bounded in count and in time. Speed is printed, never asserted: a test fails only when
the normal caller is not served, or a bound does not hold.

Run: PARLEY_BIN=.build/debug/parley /usr/bin/python3 -m pytest -q -s Tests/e2e/test_floods.py
(-s shows the latency figures quoted in docs/security.md)."""
from __future__ import annotations

import http.client
import re
import resource
import socket
import threading
import time

import pytest

import rtp
import sipua
from conftest import running_server

ATTACKER = "127.0.0.66"
TOKEN = "e2e-flood-token-0123456789abcdef"
SO_RCVBUFFORCE = 33


def can_bind(host: str) -> bool:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((host, 0))
        return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def attacker_addresses():
    if not can_bind(ATTACKER) or not can_bind("127.0.1.1"):
        pytest.skip("cannot bind other loopback addresses (127.0.0.66, 127.0.1.1)")


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def admin_yaml(port: int) -> str:
    return f"admin: {{ listen: \"127.0.0.1:{port}\", token_env: PARLEY_E2E_ADMIN_TOKEN }}\n"


def metrics(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        resp = conn.getresponse()
        body = resp.read().decode(errors="replace")
        assert resp.status == 200, f"/metrics: {resp.status} {body[:300]}"
        return body
    finally:
        conn.close()


def metric(text: str, name: str, labels: str | None = None) -> float | None:
    """The value of `name` (with `labels` inside the braces, if given) in Prometheus text."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        m = re.match(rf"{re.escape(name)}(\{{[^}}]*\}})?\s+(\S+)$", line)
        if m and (labels is None or (m.group(1) and labels in m.group(1))):
            return float(m.group(2))
    return None


def wait_metric(port: int, name: str, at_least: float, labels: str | None = None, timeout: float = 5.0) -> float | None:
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = metric(metrics(port), name, labels)
        if value is not None and value >= at_least:
            return value
        time.sleep(0.25)
    return value


def options_text(port: int, host: str, local_port: int, n: int, transport: str = "UDP", via: bool = True) -> str:
    lines = [f"OPTIONS sip:127.0.0.1:{port} SIP/2.0"]
    if via:
        lines.append(f"Via: SIP/2.0/{transport} {host}:{local_port};branch=z9hG4bKfl{n}x{local_port}")
    lines += ["Max-Forwards: 70", f"From: <sip:f@{host}>;tag=f{n}", "To: <sip:127.0.0.1>",
              f"Call-ID: flood-{host}-{local_port}-{n}", "CSeq: 1 OPTIONS", "Content-Length: 0"]
    return "\r\n".join(lines) + "\r\n\r\n"


def timed_options(port: int, tries: int = 4) -> float:
    """One OPTIONS from 127.0.0.1, retransmitted like a UA (RFC 3261 Timer E: 0.5, 1, 2 s);
    returns the seconds until its 200 or fails the test."""
    with sipua.SipUA(port) as ua:
        call_id = sipua._rand(16) + "@e2e"
        text = ua.request("OPTIONS", f"sip:127.0.0.1:{port}", call_id, 1, sipua._rand())
        t0 = time.monotonic()
        wait = 0.5
        for _ in range(tries):
            ua.send_raw(text)
            r = ua.wait_final(call_id, "OPTIONS", wait)
            if r is not None:
                assert r.status == 200, f"normal OPTIONS got {r.start_line}"
                return time.monotonic() - t0
            wait *= 2
    pytest.fail("the normal OPTIONS got no answer within 4 tries (7.5 s)", pytrace=False)


def p95(samples: list[float]) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))]


def timed_call(server) -> dict:
    """A normal call from 127.0.0.1 over UDP: INVITE → 200, ACK, RTP flows, BYE → 200.
    Returns the set-up and tear-down times; fails the test if any step is not served."""
    with sipua.SipUA(server.sip_port) as ua, rtp.RtpListener() as listener:
        t0 = time.monotonic()
        call = ua.invite("100", sipua.make_sdp(listener.port, (0, 101)), timeout=8.0)
        setup = time.monotonic() - t0
        assert call.final is not None and call.final.status == 200, f"INVITE: {call.final}{server.describe()}"
        call.ack()
        assert listener.wait_for(10, 5.0), "no RTP to the caller" + server.describe()
        t1 = time.monotonic()
        bye = call.bye(timeout=5.0)
        assert bye is not None and bye.status == 200, f"BYE: {bye}{server.describe()}"
        return {"setup_ms": setup * 1000, "bye_ms": (time.monotonic() - t1) * 1000}


# ---------------------------------------------------------------------------
# TCP
# ---------------------------------------------------------------------------


def test_a_tcp_crlf_flood_does_not_stop_a_call(parley_bin, prompts_dir, tmp_path):
    """Given 16 connections from 127.0.0.66 each writing CRLF keep-alives as fast as it can
    (bounded: 4 s or 64 MiB in all), a normal call from 127.0.0.1 still gets 200, RTP and a
    200 to its BYE; the flooding connections are closed over the rate limit; the server
    stays up and answers TCP OPTIONS afterwards."""
    admin = free_tcp_port()
    with running_server(parley_bin, tmp_path, prompts_dir, tcp=True, top_extra=admin_yaml(admin),
                        env={"PARLEY_E2E_ADMIN_TOKEN": TOKEN}) as server:
        port = server.sip_port
        stop = threading.Event()
        sent = [0]
        closed = [0]

        def flood():
            chunk = b"\r\n" * 512
            while not stop.is_set() and sent[0] < 64 << 20:
                try:
                    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                        s.bind((ATTACKER, 0))
                        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                        s.settimeout(1.0)
                        s.connect(("127.0.0.1", port))
                        while not stop.is_set() and sent[0] < 64 << 20:
                            s.sendall(chunk)
                            sent[0] += len(chunk)
                except OSError:
                    closed[0] += 1   # the server closed it (or refused it)
                    time.sleep(0.01)

        threads = [threading.Thread(target=flood, daemon=True) for _ in range(16)]
        deadline = time.monotonic() + 4.0
        for t in threads:
            t.start()
        try:
            time.sleep(0.5)
            figures = timed_call(server)
            while time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=5)
        print(f"\nCRLF flood: {sent[0] / 1e6:.1f} MB sent, {closed[0]} connections closed by the server; "
              f"call set-up {figures['setup_ms']:.1f} ms, BYE {figures['bye_ms']:.1f} ms")
        assert server.alive(), server.describe()
        text = metrics(admin)
        flood_closed = metric(text, "parley_sip_tcp_connections_closed_total", 'reason="keepalive_flood"') or 0
        assert flood_closed >= 1 and closed[0] >= 1, f"no flooding connection was closed ({flood_closed}, {closed[0]})" + "\n".join(l for l in text.splitlines() if "parley_sip" in l)
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
            s.sendall(options_text(port, "127.0.0.1", s.getsockname()[1], 1, "TCP").encode())
            assert s.recv(65535).startswith(b"SIP/2.0 200"), "no 200 over TCP after the flood"


def raise_nofile(need: int):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            pytest.skip(f"open file hard limit {hard} < {need}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


IDLE_SOURCES = 50
IDLE_PER_SOURCE = 200


def test_ten_thousand_idle_tcp_connections_and_the_caps(parley_bin, prompts_dir, tmp_path):
    """Given caps of 10,001 connections in all and 200 per source, 10,000 idle connections
    from 50 addresses (127.0.1.1–50) are held; a TCP OPTIONS from 127.0.0.1 on the last free
    slot gets 200; one more connection (from a new address), and a 201st from one address,
    are closed at accept; a normal UDP call is served and timed meanwhile."""
    raise_nofile(IDLE_SOURCES * IDLE_PER_SOURCE + 500)
    admin = free_tcp_port()
    extra = (f"  tcp: {{ max_connections: {IDLE_SOURCES * IDLE_PER_SOURCE + 1}, "
             f"max_connections_per_source: {IDLE_PER_SOURCE}, idle_timeout: 120s }}\n")
    with running_server(parley_bin, tmp_path, prompts_dir, tcp=True, sip_extra=extra, top_extra=admin_yaml(admin),
                        env={"PARLEY_E2E_ADMIN_TOKEN": TOKEN}) as server:
        port = server.sip_port
        idle: list[socket.socket] = []
        try:
            t0 = time.monotonic()
            for i in range(IDLE_SOURCES * IDLE_PER_SOURCE):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                idle.append(s)
                s.bind((f"127.0.1.{i // IDLE_PER_SOURCE + 1}", 0))
                s.settimeout(5)
                s.connect(("127.0.0.1", port))
            opened = time.monotonic() - t0
            # The server has accepted them all when its gauge says so.
            open_now = wait_metric(admin, "parley_sip_tcp_connections", len(idle), timeout=30)
            assert open_now == len(idle), f"server holds {open_now} of {len(idle)} connections{server.describe()}"

            figures = timed_call(server)

            def refused(source: str):
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as extra_conn:
                    extra_conn.bind((source, 0))
                    extra_conn.settimeout(5)
                    extra_conn.connect(("127.0.0.1", port))
                    try:
                        extra_conn.sendall(options_text(port, source, extra_conn.getsockname()[1], 2, "TCP").encode())
                        data = extra_conn.recv(65535)
                    except (ConnectionResetError, BrokenPipeError):
                        data = b""
                    assert data == b"", f"a connection from {source} over a cap was served: {data[:80]!r}"

            with socket.create_connection(("127.0.0.1", port), timeout=5) as legit:
                legit.sendall(options_text(port, "127.0.0.1", legit.getsockname()[1], 1, "TCP").encode())
                assert legit.recv(65535).startswith(b"SIP/2.0 200"), "no 200 on the last free connection"
                refused("127.0.2.1")   # over the total cap
            # With the last slot free again, a 201st connection from one address is over its own cap.
            assert wait_metric(admin, "parley_sip_tcp_connections", len(idle), timeout=10) is not None
            refused("127.0.1.1")
            text = metrics(admin)
            assert (metric(text, "parley_sip_tcp_connections_refused_total", 'cap="total"') or 0) >= 1, text[-2000:]
            assert (metric(text, "parley_sip_tcp_connections_refused_total", 'cap="per_source"') or 0) >= 1, text[-2000:]
            print(f"\n{len(idle)} idle TCP connections opened in {opened:.1f} s; call set-up "
                  f"{figures['setup_ms']:.1f} ms, BYE {figures['bye_ms']:.1f} ms")
        finally:
            for s in idle:
                s.close()
        # The server takes the 10,000 closes before it is asked to stop.
        t0 = time.monotonic()
        deadline = t0 + 60
        while time.monotonic() < deadline and (metric(metrics(admin), "parley_sip_tcp_connections") or 0) > 0:
            time.sleep(0.25)
        left = metric(metrics(admin), "parley_sip_tcp_connections")
        assert left == 0, f"{left} connections still counted 60 s after the peers closed them"
        print(f"10,000 closes taken in {time.monotonic() - t0:.1f} s")
        assert server.alive(), server.describe()


def test_idle_connections_are_closed_and_keepalives_keep_them(parley_bin, prompts_dir, tmp_path):
    """Given sip.tcp.idle_timeout 1 s, a connection that sends nothing and one that sends half
    a message are closed within a few seconds; one sending a CRLF keep-alive every 300 ms
    stays open and is answered."""
    with running_server(parley_bin, tmp_path, prompts_dir, tcp=True, sip_extra="  tcp: { idle_timeout: 1s }\n") as server:
        port = server.sip_port
        silent = socket.create_connection(("127.0.0.1", port), timeout=5)
        partial = socket.create_connection(("127.0.0.1", port), timeout=5)
        alive = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            partial.sendall(b"OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKp\r\n")
            t0 = time.monotonic()
            while time.monotonic() - t0 < 3.0:
                alive.sendall(b"\r\n\r\n")
                time.sleep(0.3)
            for name, s in [("silent", silent), ("partial", partial)]:
                s.settimeout(3)
                try:
                    assert s.recv(100) == b"", f"the {name} connection got data"
                except ConnectionResetError:
                    pass
            alive.sendall(options_text(port, "127.0.0.1", alive.getsockname()[1], 1, "TCP").encode())
            alive.settimeout(3)
            data = alive.recv(65535)
            assert data.startswith(b"SIP/2.0 200"), f"the connection sending keep-alives was closed: {data!r}"
        finally:
            for s in (silent, partial, alive):
                s.close()
        assert server.alive()


def test_a_peer_that_does_not_read_is_cut_off(parley_bin, prompts_dir, tmp_path):
    """Given sip.tcp.max_pending_output 64KB and a peer that sends OPTIONS with big Via
    headers (each 200 is as big) but never reads, the server closes the connection once the
    kernel's buffers and 64 KiB of ours are full, and keeps serving others."""
    admin = free_tcp_port()
    extra = "  tcp: { max_pending_output: 64KB }\n  rate_limit: { requests_per_second: 100000, burst: 100000 }\n"
    with running_server(parley_bin, tmp_path, prompts_dir, tcp=True, sip_extra=extra, top_extra=admin_yaml(admin),
                        env={"PARLEY_E2E_ADMIN_TOKEN": TOKEN}) as server:
        port = server.sip_port
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.bind((ATTACKER, 0))
            s.settimeout(1)
            s.connect(("127.0.0.1", port))
            pad = ";x=" + "p" * 3000
            cut = False
            t0 = time.monotonic()
            n = 0
            while time.monotonic() - t0 < 15 and n < 20000:
                n += 1
                text = options_text(port, ATTACKER, s.getsockname()[1], n, "TCP").replace(
                    "branch=", f"{pad};branch=", 1)
                try:
                    s.sendall(text.encode())
                except (socket.timeout, BrokenPipeError, ConnectionResetError):
                    cut = True
                    break
            closed = wait_metric(admin, "parley_sip_tcp_connections_closed_total", 1, 'reason="slow_reader"')
            assert closed is not None and closed >= 1, f"the non-reading peer was not cut off ({n} requests sent, cut={cut})"
        assert timed_options(port) is not None
        assert server.alive(), server.describe()


# ---------------------------------------------------------------------------
# UDP
# ---------------------------------------------------------------------------


def test_an_options_flood_from_64_ports_leaves_a_normal_options_answered(parley_bin, prompts_dir, tmp_path):
    """Given 64 sockets on 127.0.0.66 sending OPTIONS as fast as they can (bounded: 5 s or
    100,000 datagrams), 40 OPTIONS from 127.0.0.1, one after another, each get their 200
    (retransmitted like a UA). The p95 latency idle and under the flood is printed."""
    with running_server(parley_bin, tmp_path, prompts_dir) as server:
        port = server.sip_port
        idle = [timed_options(port) for _ in range(40)]
        stop = threading.Event()
        sent = [0]
        socks = []
        for _ in range(64):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((ATTACKER, 0))
            socks.append(s)
        payloads = [(s, options_text(port, ATTACKER, s.getsockname()[1], i).encode()) for i, s in enumerate(socks)]

        def flood():
            deadline = time.monotonic() + 5.0
            while not stop.is_set() and time.monotonic() < deadline and sent[0] < 100_000:
                for s, data in payloads:
                    try:
                        s.sendto(data, ("127.0.0.1", port))
                    except OSError:
                        pass
                sent[0] += len(payloads)

        t = threading.Thread(target=flood, daemon=True)
        t.start()
        try:
            time.sleep(0.2)
            loaded = [timed_options(port) for _ in range(40)]
        finally:
            stop.set()
            t.join(timeout=10)
            for s in socks:
                s.close()
        print(f"\nOPTIONS p95 idle {p95(idle) * 1000:.2f} ms, under a flood of {sent[0]} datagrams from 64 ports "
              f"{p95(loaded) * 1000:.2f} ms (max {max(loaded) * 1000:.1f} ms)")
        assert server.alive(), server.describe()


def test_a_malformed_flood_is_rate_limited_and_others_answered(parley_bin, prompts_dir, tmp_path):
    """Given 20 requests/s with a burst of 40 per source, 2,000 malformed requests from
    127.0.0.66 (each would earn a 400) get at most the burst and the rate's worth of 400s,
    the rest are counted in parley_sip_rate_limited_total, and 127.0.0.1 is answered
    meanwhile."""
    admin = free_tcp_port()
    with running_server(parley_bin, tmp_path, prompts_dir, top_extra=admin_yaml(admin),
                        sip_extra="  rate_limit: { requests_per_second: 20, burst: 40 }\n",
                        env={"PARLEY_E2E_ADMIN_TOKEN": TOKEN}) as server:
        port = server.sip_port
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 4 << 20)
            s.bind((ATTACKER, 0))
            local = s.getsockname()[1]
            t0 = time.monotonic()
            for n in range(2000):
                bad = options_text(port, ATTACKER, local, n).replace("CSeq: 1 OPTIONS", "CSeq: one OPTIONS")
                s.sendto(bad.encode(), ("127.0.0.1", port))
            duration = time.monotonic() - t0
            assert timed_options(port) is not None
            answered = 0
            s.settimeout(0.5)
            try:
                while True:
                    if s.recv(65535).startswith(b"SIP/2.0 400"):
                        answered += 1
            except socket.timeout:
                pass
        limit = 40 + 20 * (duration + 1.5) + 5
        assert 1 <= answered <= limit, f"{answered} of 2000 malformed requests answered in {duration:.2f} s (bound {limit:.0f})"
        limited = wait_metric(admin, "parley_sip_rate_limited_total", 2000 - limit)
        assert limited is not None and limited >= 2000 - limit, f"parley_sip_rate_limited_total = {limited}"
        print(f"\nmalformed flood: {answered} answered with 400, {limited:.0f} dropped over the rate")
        assert server.alive(), server.describe()


def burst(port: int, count: int, size: int) -> int:
    """Sends `count` OPTIONS of about `size` bytes from one socket at once, then counts the
    200s that come back."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 16 << 20)
        s.bind(("127.0.0.1", 0))
        local = s.getsockname()[1]
        for n in range(count):
            text = options_text(port, "127.0.0.1", local, n)
            text = text.replace("Max-Forwards: 70", "Max-Forwards: 70\r\nX-Pad: " + "p" * max(0, size - len(text) - 10), 1)
            s.sendto(text.encode(), ("127.0.0.1", port))
        answered = 0
        s.settimeout(3.0)
        try:
            while answered < count:
                if s.recv(65535).startswith(b"SIP/2.0 200"):
                    answered += 1
        except socket.timeout:
            pass
        return answered


BURST = 1500
BURST_SIZE = 600


def test_a_burst_beyond_the_old_default_buffer_is_absorbed(parley_bin, prompts_dir, tmp_path):
    """Given the default sip.receive_buffer (4 MiB) and no rate limit in the way, a burst of
    1,500 datagrams of 600 bytes sent at once (about 2 MiB of kernel buffer, ten times the
    old 208 KiB default) is answered in full, and the drop counter is exported as 0."""
    admin = free_tcp_port()
    with running_server(parley_bin, tmp_path, prompts_dir, top_extra=admin_yaml(admin),
                        sip_extra="  rate_limit: { requests_per_second: 100000, burst: 100000 }\n",
                        env={"PARLEY_E2E_ADMIN_TOKEN": TOKEN}) as server:
        answered = burst(server.sip_port, BURST, BURST_SIZE)
        assert answered == BURST, f"{answered} of {BURST} answered{server.describe()}"
        time.sleep(1.2)   # one drop poll
        assert metric(metrics(admin), "parley_sip_udp_receive_drops_total") in (None, 0.0)
        assert "SIP UDP receive buffer" in server.stderr, server.stderr_tail()


def test_a_small_receive_buffer_overflows_and_the_drops_are_counted(parley_bin, prompts_dir, tmp_path):
    """Given sip.receive_buffer 64KB, the same burst overflows the socket: fewer are answered,
    parley_sip_udp_receive_drops_total rises by the difference (at least), and a warning is
    logged."""
    admin = free_tcp_port()
    with running_server(parley_bin, tmp_path, prompts_dir, top_extra=admin_yaml(admin),
                        sip_extra="  receive_buffer: 64KB\n  rate_limit: { requests_per_second: 100000, burst: 100000 }\n",
                        env={"PARLEY_E2E_ADMIN_TOKEN": TOKEN}) as server:
        answered = burst(server.sip_port, BURST, BURST_SIZE)
        assert answered < BURST, "a 64 KiB buffer absorbed the whole burst: the burst proves nothing"
        drops = wait_metric(admin, "parley_sip_udp_receive_drops_total", BURST - answered)
        assert drops is not None and drops >= BURST - answered, f"drops {drops}, unanswered {BURST - answered}"
        print(f"\n64 KiB buffer: {answered} of {BURST} answered, {drops:.0f} dropped by the kernel")
        assert "receive buffer overflowed" in server.stderr, server.stderr_tail()
