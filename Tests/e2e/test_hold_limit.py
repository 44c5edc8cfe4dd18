"""`sip.max_hold`: a call on hold expects no media, so the media timeout cannot notice a phone
that vanished while holding. After max_hold the server ends it with BYE, unless session
timers (RFC 4028) keep proving the peer alive (issue 16)."""
from __future__ import annotations

import time

import pytest

import rtp
import sipua
from conftest import running_server

MAX_HOLD_S = 2.0


@pytest.fixture
def hold_server(parley_bin, prompts_dir, tmp_path):
    # A long media timeout: only the hold limit may end these calls.
    with running_server(parley_bin, tmp_path, prompts_dir, media_timeout=30.0,
                        sip_extra=f"  max_hold: {int(MAX_HOLD_S)}s\n  min_session_expires: 3s\n") as server:
        yield server


def reinvite(ua, call, listener, direction, server, extra=()):
    call.cseq += 1
    sdp = sipua.make_sdp(listener.port, (0, 101)).replace("a=sendrecv", f"a={direction}")
    ua.send_raw(ua.request("INVITE", call.remote_target(), call.call_id, call.cseq, call.from_tag,
                           to_tag=call.to_tag, to_uri=call.uri, body=sdp, extra=list(extra)))
    final = ua.wait_final(call.call_id, "INVITE", 3.0)
    assert final is not None and final.status == 200, f"re-INVITE {direction}: {final}{server.describe()}"
    ua.send_raw(ua.request("ACK", call.remote_target(), call.call_id, call.cseq, call.from_tag,
                           to_tag=call.to_tag, to_uri=call.uri))
    return final


def ended(server, call):
    return [e for e in server.call_events(call.call_id) if e["event"] == "call.ended"]


def test_a_call_held_longer_than_max_hold_is_ended(hold_server):
    """Given max_hold 2 s: a hold resumed after 1 s leaves the call up; held again, the call
    gets the server's BYE about 2 s later (not before), with call.ended cause max-hold."""
    with sipua.SipUA(hold_server.sip_port) as ua, rtp.RtpListener() as listener:
        call = ua.invite("100", sipua.make_sdp(listener.port, (0, 101)), timeout=5.0)
        assert call.final is not None and call.final.status == 200, f"{call.final}{hold_server.describe()}"
        call.ack()
        reinvite(ua, call, listener, "sendonly", hold_server)
        time.sleep(MAX_HOLD_S / 2)
        reinvite(ua, call, listener, "sendrecv", hold_server)
        assert ua.wait_request("BYE", call.call_id, MAX_HOLD_S + 0.5) is None, "BYE although the hold was resumed"
        assert not ended(hold_server, call), ended(hold_server, call)

        reinvite(ua, call, listener, "inactive", hold_server)
        held_at = time.monotonic()
        bye = ua.wait_request("BYE", call.call_id, MAX_HOLD_S + 3.0)
        assert bye is not None, "no BYE after max_hold" + hold_server.describe()
        waited = time.monotonic() - held_at
        assert waited >= MAX_HOLD_S - 0.2, f"BYE after {waited:.2f} s, before max_hold"
    record = hold_server.wait_event(lambda e: e.get("event") == "call.ended" and e.get("call_id") == call.call_id, 3.0)
    assert record is not None and record.get("cause") == "max-hold", f"{record}{hold_server.describe()}"


def test_session_timers_keep_a_held_call(hold_server):
    """Given a call with session timers refreshed by the caller every 2 s (interval 3 s), on
    hold for twice max_hold: no BYE, and the call is still up."""
    with sipua.SipUA(hold_server.sip_port) as ua, rtp.RtpListener() as listener:
        call = sipua.Call(ua, "100")
        timer = ["Supported: timer", "Session-Expires: 3;refresher=uac"]
        ua.send_raw(ua.request("INVITE", call.uri, call.call_id, 1, call.from_tag, body=sipua.make_sdp(listener.port, (0, 101)),
                               branch=call.invite_branch, extra=timer))
        call.final = ua.wait_final(call.call_id, "INVITE", 3.0)
        assert call.final is not None and call.final.status == 200, f"{call.final}{hold_server.describe()}"
        call.to_tag = sipua.tag_of(call.final.get("to"))
        call.ack()
        reinvite(ua, call, listener, "sendonly", hold_server, extra=timer)
        deadline = time.monotonic() + 2 * MAX_HOLD_S + 0.5
        while time.monotonic() < deadline:
            assert ua.wait_request("BYE", call.call_id, 1.5) is None, "a refreshed held call was ended" + hold_server.describe()
            reinvite(ua, call, listener, "sendonly", hold_server, extra=timer)
        assert not ended(hold_server, call), ended(hold_server, call)
        bye = call.bye()
        assert bye is not None and bye.status == 200, bye
