"""Session timers with Parley as the refresher (RFC 4028 §9): a caller without timer support,
and a server that wants timers (`sip.session_expires`), gets refresher=uas; the server then
refreshes at half the interval — UPDATE when the caller allows it, else re-INVITE with its
unchanged SDP — and ends the call with BYE when a refresh fails."""
from __future__ import annotations

import time

import numpy as np
import pytest

import rtp
import sipua
from conftest import running_server
from test_transactions import SilentUA

INTERVAL = 4


@pytest.fixture
def refresh_server(parley_bin, prompts_dir, tmp_path):
    with running_server(parley_bin, tmp_path, prompts_dir,
                        sip_extra=f"  min_session_expires: 2s\n  session_expires: {INTERVAL}s\n") as server:
        yield server


class Caller:
    """A raw caller that keeps RTP flowing while it waits for the server's requests."""

    def __init__(self, ua: SilentUA, listener, call):
        self.ua, self.listener, self.call = ua, listener, call
        self.target = (call.answer_sdp["c"], call.answer_sdp["audio_port"])
        self.silence = rtp.ulaw_encode(np.zeros(160, dtype=np.int32))
        self.seq = 0

    def wait_request(self, method: str, timeout: float):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.listener.sendto(rtp.build_rtp(0, self.seq, self.seq * 160, 0x61, self.silence, marker=self.seq == 0), self.target)
            self.seq += 1
            req = self.ua.wait_request(method, self.call.call_id, 0.02)
            if req is not None:
                return req
        return None


def place_call(ua, listener, extra):
    call = sipua.Call(ua, "100")
    ua.send_raw(ua.request("INVITE", call.uri, call.call_id, 1, call.from_tag, body=sipua.make_sdp(listener.port),
                           branch=call.invite_branch, extra=extra))
    call.final = ua.wait_final(call.call_id, "INVITE", 3.0)
    assert call.final is not None and call.final.status == 200, call.final
    call.to_tag = sipua.tag_of(call.final.get("to"))
    call.ack()
    return call


def test_server_refreshes_with_update_when_the_caller_allows_it(refresh_server):
    """Given a caller with Allow: UPDATE and no timer support, then the 200 carries
    Session-Expires 4;refresher=uas and no Require: timer, and the server sends an UPDATE
    (Session-Expires, no body) about every 2 s, each answered 200, and the call goes on."""
    with SilentUA(refresh_server.sip_port) as ua, rtp.RtpListener() as listener:
        call = place_call(ua, listener, ["Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE"])
        assert call.final.get("session-expires") == f"{INTERVAL};refresher=uas", call.final
        assert "timer" not in (call.final.get("require") or ""), call.final
        caller = Caller(ua, listener, call)
        t0 = time.monotonic()
        times = []
        for _ in range(2):
            update = caller.wait_request("UPDATE", INTERVAL)
            assert update is not None, "no UPDATE refresh" + refresh_server.describe()
            times.append(time.monotonic() - t0)
            assert update.get("session-expires") == f"{INTERVAL};refresher=uas" and not update.body, update
            assert sipua.tag_of(update.get("from")) == call.to_tag and sipua.tag_of(update.get("to")) == call.from_tag
            ua.answer(update)
        assert 1.4 <= times[0] <= 2.8 and 3.4 <= times[1] <= 4.8, times
        assert caller.wait_request("BYE", 0.5) is None
        assert call.bye().status == 200
    refreshed = [e for e in refresh_server.call_events(call.call_id) if e["event"] == "call.session_refreshed"]
    assert [e["method"] for e in refreshed] == ["UPDATE", "UPDATE"], refreshed
    ended = refresh_server.wait_event(lambda e: e.get("event") == "call.ended" and e.get("call_id") == call.call_id, 2.0)
    assert ended is not None and ended["cause"] == "bye", ended


def test_server_refreshes_with_reinvite_and_ends_the_call_when_a_refresh_fails(refresh_server):
    """Given a caller that names no UPDATE in Allow, the refresh is a re-INVITE with the
    server's SDP; a 491 (glare) makes the server retry it within 2 s rather than give up. It
    carries the SDP unchanged (same o= version); its 200 gets an ACK, again when the 200 is
    retransmitted. The next re-INVITE answered 481 ends the call: BYE, cause
    session-refresh-failed."""
    with SilentUA(refresh_server.sip_port) as ua, rtp.RtpListener() as listener:
        call = place_call(ua, listener, [])
        assert call.final.get("session-expires") == f"{INTERVAL};refresher=uas", call.final
        caller = Caller(ua, listener, call)
        crossed = caller.wait_request("INVITE", INTERVAL)
        assert crossed is not None, "no re-INVITE refresh" + refresh_server.describe()
        # Glare: the caller had a re-INVITE of its own in flight. 491 → the server retries within 2 s.
        ua.answer(crossed, 491, "Request Pending")
        ack491 = caller.wait_request("ACK", 1.0)   # the client transaction ACKs a failure itself
        assert ack491 is not None and ack491.cseq == (crossed.cseq[0], "ACK"), ack491
        reinvite = caller.wait_request("INVITE", 2.6)
        assert reinvite is not None and reinvite.cseq[0] > crossed.cseq[0], "no retry after 491" + refresh_server.describe()
        assert sipua.parse_sdp(reinvite.body) == call.answer_sdp, (reinvite.body, call.final.body)
        o_line = [l for l in reinvite.body.decode().split("\r\n") if l.startswith("o=")]
        assert o_line == [l for l in call.final.body.decode().split("\r\n") if l.startswith("o=")], o_line
        lines = ["SIP/2.0 200 OK"] + [f"Via: {v}" for v in reinvite.get_all("via")]
        lines += [f"From: {reinvite.get('from')}", f"To: {reinvite.get('to')}", f"Call-ID: {call.call_id}",
                  f"CSeq: {reinvite.get('cseq')}", f"Contact: <sip:e2e@127.0.0.1:{ua.local_port}>",
                  "Content-Type: application/sdp"]
        sdp = sipua.make_sdp(listener.port)
        ua.send_raw("\r\n".join(lines + [f"Content-Length: {len(sdp)}"]) + "\r\n\r\n" + sdp)
        ack = caller.wait_request("ACK", 1.0)
        assert ack is not None and ack.cseq == (reinvite.cseq[0], "ACK"), ack
        # Our 200 again, as if the ACK were lost: the ACK comes again (RFC 3261 §13.2.2.4).
        ua.send_raw("\r\n".join(lines + [f"Content-Length: {len(sdp)}"]) + "\r\n\r\n" + sdp)
        again = caller.wait_request("ACK", 1.0)
        assert again is not None and again.cseq == ack.cseq, again
        second = caller.wait_request("INVITE", INTERVAL)
        assert second is not None and second.cseq[0] > reinvite.cseq[0], second
        ua.answer(second, 481, "Call/Transaction Does Not Exist")
        bye = caller.wait_request("BYE", 2.0)
        assert bye is not None, "no BYE after the failed refresh" + refresh_server.describe()
        ua.answer(bye)
    ended = refresh_server.wait_event(lambda e: e.get("event") == "call.ended" and e.get("call_id") == call.call_id, 2.0)
    assert ended is not None and ended["cause"] == "session-refresh-failed", ended
