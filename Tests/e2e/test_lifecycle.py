"""Graceful shutdown: SIGTERM drains, a second SIGTERM ends calls at once."""
from __future__ import annotations

import signal
import time

import pytest

import rtp
import sipua
from conftest import start_server


@pytest.fixture
def server(parley_bin, prompts_dir, tmp_path):
    s = start_server(parley_bin, tmp_path, prompts_dir)
    yield s
    if s.proc.poll() is None:
        s.proc.kill()
        s.proc.wait(timeout=5)


def test_sigterm_refuses_new_calls_and_lets_calls_finish(server):
    """Given a call in progress, when the server gets SIGTERM, then a new INVITE gets 503 with
    Retry-After, the call in progress keeps its media, and once it hangs up the server exits 0
    well before the grace period (2 s) would end it."""
    with sipua.SipUA(server.sip_port) as ua, rtp.RtpListener() as listener, rtp.RtpListener() as other:
        call = ua.invite("100", sipua.make_sdp(listener.port), timeout=5.0)
        assert call.final is not None and call.final.status == 200
        call.ack()
        assert listener.wait_for(5, 3.0)
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        late = ua.invite("100", sipua.make_sdp(other.port), timeout=3.0)
        assert late.final is not None and late.final.status == 503, f"new call while draining: {late.final}"
        assert late.final.get("retry-after"), late.final
        n = listener.count()
        time.sleep(0.5)
        assert listener.count() > n + 10, "media of the call in progress stopped while draining"
        assert server.proc.poll() is None, "the server exited before its call ended"
        t0 = time.monotonic()
        assert call.bye().status == 200
        rc = server.proc.wait(timeout=5)
        assert rc == 0, f"exit status {rc}{server.describe()}"
        assert time.monotonic() - t0 < 1.5, "the server waited for the grace period although no call was left"


def test_second_sigterm_ends_calls_at_once_with_bye(server):
    """Given a call in progress, two SIGTERMs end it at once: the caller gets a BYE and the
    server exits 0."""
    with sipua.SipUA(server.sip_port) as ua, rtp.RtpListener() as listener:
        call = ua.invite("100", sipua.make_sdp(listener.port), timeout=5.0)
        assert call.final is not None and call.final.status == 200
        call.ack()
        assert listener.wait_for(5, 3.0)
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        server.proc.send_signal(signal.SIGTERM)
        bye = ua.wait_request("BYE", call.call_id, 3.0)
        assert bye is not None, "no BYE from the server" + server.describe()
        rc = server.proc.wait(timeout=5)
        assert rc == 0, f"exit status {rc}{server.describe()}"
    ended = [e for e in server.events() if e.get("event") == "call.ended" and e.get("call_id") == call.call_id]
    assert ended and ended[0].get("cause") == "shutdown", ended


def test_grace_period_over_ends_calls_with_bye_and_exits_0(server):
    """Given a call that does not hang up, after SIGTERM the call keeps its media until the
    grace period (2 s) is over; then the server sends BYE and exits 0."""
    with sipua.SipUA(server.sip_port) as ua, rtp.RtpListener() as listener:
        call = ua.invite("100", sipua.make_sdp(listener.port), timeout=5.0)
        assert call.final is not None and call.final.status == 200
        call.ack()
        assert listener.wait_for(5, 3.0)
        t0 = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        bye = ua.wait_request("BYE", call.call_id, 6.0)
        waited = time.monotonic() - t0
        assert bye is not None, "no BYE after the grace period" + server.describe()
        assert 1.5 <= waited <= 4.0, f"BYE after {waited:.1f} s; the grace period is 2 s"
        rc = server.proc.wait(timeout=5)
        assert rc == 0, f"exit status {rc}{server.describe()}"
    ended = [e for e in server.events() if e.get("event") == "call.ended" and e.get("call_id") == call.call_id]
    assert ended and ended[0].get("cause") == "shutdown", ended


def test_sighup_still_reloads_under_the_service_group(server):
    """SIGHUP while serving re-reads the file (event config.reloaded) and the server keeps
    answering; a later SIGTERM still exits 0."""
    server.proc.send_signal(signal.SIGHUP)
    assert server.wait_event(lambda e: e.get("event") == "config.reloaded", 5.0), server.describe()
    with sipua.SipUA(server.sip_port) as ua:
        assert ua.options().status == 200
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=5) == 0
