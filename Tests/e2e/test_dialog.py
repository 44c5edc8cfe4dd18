"""In-dialog and admission behaviour: Require, INFO DTMF, hold/resume, the concurrent-call licence."""
from __future__ import annotations

import struct
import time

import numpy as np
import pytest

import rtp
import sipua
from conftest import MEDIA_TIMEOUT_S, running_server


def events_for(server, call_id, name=None):
    return [e for e in server.events() if e.get("call_id") == call_id and (name is None or e.get("event") == name)]


def test_unsupported_require_gets_420(parley_server):
    """Given an INVITE that requires an extension we do not support, then 420 Bad Extension
    names it in Unsupported, and no call is set up."""
    with sipua.SipUA(parley_server.sip_port) as ua, rtp.RtpListener() as listener:
        call = sipua.Call(ua, "100")
        ua.send_raw(ua.request("INVITE", call.uri, call.call_id, 1, call.from_tag, body=sipua.make_sdp(listener.port),
                               branch=call.invite_branch, extra=["Require: 100rel, foo"]))
        final = ua.wait_final(call.call_id, "INVITE", 3.0)
        assert final is not None and final.status == 420, f"got {final and final.start_line}{parley_server.describe()}"
        assert "100rel" in (final.get("unsupported") or "") and "foo" in final.get("unsupported"), final
    assert not events_for(parley_server, call.call_id, "call.answered")


def test_info_dtmf_is_a_third_source_deduplicated_with_rfc4733(parley_server):
    """Given a call, when keys arrive as SIP INFO (dtmf-relay and dtmf bodies), each is
    reported once with source info; the same key arriving also by RFC 4733 right after is
    not reported twice; an INFO with an unknown body type gets 415."""
    with sipua.SipUA(parley_server.sip_port) as ua, rtp.RtpListener() as listener:
        call = ua.invite("100", sipua.make_sdp(listener.port, (0, 101)), timeout=5.0)
        assert call.final is not None and call.final.status == 200
        call.ack()
        target = (call.answer_sdp["c"], call.answer_sdp["audio_port"])

        def info(body, ctype):
            call.cseq += 1
            ua.send_raw(ua.request("INFO", call.remote_target(), call.call_id, call.cseq, call.from_tag,
                                   to_tag=call.to_tag, to_uri=call.uri, body=body, content_type=ctype))
            return ua.wait_final(call.call_id, "INFO", 3.0)

        r = info("Signal=7\r\nDuration=160\r\n", "application/dtmf-relay")
        assert r is not None and r.status == 200, r
        # The same press also comes as RFC 4733 (a gateway that sends both).
        for i in range(4):
            payload = struct.pack("!BBH", 7, (0x80 if i >= 2 else 0) | 10, 160 * (i + 1))
            listener.sendto(rtp.build_rtp(101, 10 + i, 8000, 0x77, payload, marker=i == 0), target)
            time.sleep(0.02)
        time.sleep(0.5)
        r = info("9\r\n", "application/dtmf")
        assert r is not None and r.status == 200, r
        r = info("<xml/>", "application/xml")
        assert r is not None and r.status == 415, r
        time.sleep(0.3)
        assert call.bye().status == 200
    dtmf = [(e["digit"], e["source"]) for e in events_for(parley_server, call.call_id, "dtmf")]
    assert dtmf == [("7", "info"), ("9", "info")], f"DTMF events {dtmf}{parley_server.describe()}"


def test_hold_suspends_the_media_timeout_and_resume_restarts_it(parley_server):
    """Given a call whose caller sends no RTP, when the caller puts it on hold (re-INVITE
    sendonly) the server answers recvonly, stops sending and does not time the call out;
    when the caller resumes (sendrecv) media flows again and the timeout applies again."""
    with sipua.SipUA(parley_server.sip_port) as ua, rtp.RtpListener() as listener:
        call = ua.invite("100", sipua.make_sdp(listener.port, (0, 101)), timeout=5.0)
        assert call.final is not None and call.final.status == 200
        call.ack()

        def reinvite(direction):
            call.cseq += 1
            sdp = sipua.make_sdp(listener.port, (0, 101)).replace("a=sendrecv", f"a={direction}")
            ua.send_raw(ua.request("INVITE", call.remote_target(), call.call_id, call.cseq, call.from_tag,
                                   to_tag=call.to_tag, to_uri=call.uri, body=sdp))
            final = ua.wait_final(call.call_id, "INVITE", 3.0)
            assert final is not None, f"no answer to re-INVITE {direction}{parley_server.describe()}"
            ua.send_raw(ua.request("ACK", call.remote_target(), call.call_id, call.cseq, call.from_tag,
                                   to_tag=call.to_tag, to_uri=call.uri))
            return final

        held = reinvite("sendonly")
        assert held.status == 200 and "a=recvonly" in held.body.decode(), held
        time.sleep(0.2)
        n = listener.count()
        time.sleep(MEDIA_TIMEOUT_S + 1.0)  # longer than the media timeout, no RTP from us
        assert listener.count() <= n + 1, "the server kept sending RTP while on hold"
        assert not events_for(parley_server, call.call_id, "call.ended"), "the call timed out while on hold"
        resumed = reinvite("sendrecv")
        assert resumed.status == 200 and "a=sendrecv" in resumed.body.decode(), resumed
        assert listener.wait_for(listener.count() + 10, 2.0), "RTP did not resume"
        ended = parley_server.wait_event(lambda e: e.get("event") == "call.ended" and e.get("call_id") == call.call_id,
                                         MEDIA_TIMEOUT_S + 3.0)
        assert ended is not None and ended.get("cause") == "media-timeout", f"after resume: {ended}"
    names = [e["event"] for e in events_for(parley_server, call.call_id)]
    assert "call.held" in names and "call.resumed" in names, names


@pytest.fixture
def licensed_server(parley_bin, prompts_dir, tmp_path):
    with running_server(parley_bin, tmp_path, prompts_dir, tenant_extra="    licenses: { concurrent_calls: 1 }\n") as server:
        yield server


def test_concurrent_call_licence_is_enforced_in_real_time(licensed_server):
    """Given a tenant licensed for one call, a second call while the first is up gets 503
    with a Warning naming the limit; once the first ends, a new call is accepted."""
    server = licensed_server
    with sipua.SipUA(server.sip_port) as ua, rtp.RtpListener() as l1, rtp.RtpListener() as l2:
        first = ua.invite("100", sipua.make_sdp(l1.port), timeout=5.0)
        assert first.final is not None and first.final.status == 200
        first.ack()
        second = ua.invite("100", sipua.make_sdp(l2.port), timeout=5.0)
        assert second.final is not None and second.final.status == 503, second.final
        warning = second.final.get("warning") or ""
        assert "concurrent call licence of 1" in warning, warning
        refused = server.wait_event(lambda e: e.get("event") == "call.refused" and e.get("call_id") == second.call_id, 2.0)
        assert refused is not None and refused.get("status") == 503, refused
        assert first.bye().status == 200
        third = ua.invite("100", sipua.make_sdp(l2.port), timeout=5.0)
        assert third.final is not None and third.final.status == 200, third.final
        third.ack()
        assert third.bye().status == 200


def offerless_call(ua, number="100"):
    call = sipua.Call(ua, number)
    ua.send_raw(ua.request("INVITE", call.uri, call.call_id, 1, call.from_tag, branch=call.invite_branch))
    call.final = ua.wait_final(call.call_id, "INVITE", 5.0)
    if call.final is not None:
        call.to_tag = sipua.tag_of(call.final.get("to"))
    return call


def test_offerless_invite_gets_our_offer_and_the_ack_answer_starts_media(parley_server):
    """Given an INVITE without SDP, the 200 carries our offer (PCMU, PCMA, Opus,
    telephone-event); when the ACK answers PCMA, the prompt arrives as PCMA at the
    address of the answer."""
    with sipua.SipUA(parley_server.sip_port) as ua, rtp.RtpListener() as listener:
        call = offerless_call(ua)
        assert call.final is not None and call.final.status == 200, f"{call.final}{parley_server.describe()}"
        offer = call.final.body.decode()
        assert "m=audio " in offer and " RTP/AVP 0 8 111 101" in offer, offer
        assert listener.count() == 0
        answer = sipua.make_sdp(listener.port, (8, 101))
        ua.send_raw(ua.request("ACK", call.remote_target(), call.call_id, 1, call.from_tag, to_tag=call.to_tag,
                               to_uri=call.uri, body=answer))
        assert listener.wait_for(10, 3.0), "no RTP after the answer in the ACK" + parley_server.describe()
        pts = {rtp.parse_rtp(d).payload_type for _, d, _ in listener.snapshot()}
        assert pts == {8}, f"payload types sent: {pts}"
        assert call.bye().status == 200
    answered = [e for e in events_for(parley_server, call.call_id, "call.answered")]
    assert answered and answered[0].get("codec") == "PCMA", answered


def test_an_ack_without_the_answer_ends_the_call(parley_server):
    """Given our offer in the 200, an ACK without SDP leaves no media to run: BYE."""
    with sipua.SipUA(parley_server.sip_port) as ua:
        call = offerless_call(ua)
        assert call.final is not None and call.final.status == 200
        ua.send_raw(ua.request("ACK", call.remote_target(), call.call_id, 1, call.from_tag, to_tag=call.to_tag, to_uri=call.uri))
        bye = ua.wait_request("BYE", call.call_id, 3.0)
        assert bye is not None, "no BYE after an ACK without answer" + parley_server.describe()
    ended = parley_server.wait_event(lambda e: e.get("event") == "call.ended" and e.get("call_id") == call.call_id, 3.0)
    assert ended is not None and ended.get("cause") == "bad-answer", ended


@pytest.fixture
def timer_server(parley_bin, prompts_dir, tmp_path):
    with running_server(parley_bin, tmp_path, prompts_dir, sip_extra="  min_session_expires: 3s\n") as server:
        yield server


def test_session_timer_short_interval_422_refresh_and_expiry(timer_server):
    """RFC 4028 with the caller refreshing: an interval below Min-SE gets 422 with Min-SE; an
    accepted one is granted with refresher=uac and Require: timer; an UPDATE refresh keeps
    the call; without further refreshes the server ends the call with BYE."""
    server = timer_server
    with sipua.SipUA(server.sip_port) as ua, rtp.RtpListener() as listener:
        short = sipua.Call(ua, "100")
        ua.send_raw(ua.request("INVITE", short.uri, short.call_id, 1, short.from_tag, body=sipua.make_sdp(listener.port),
                               branch=short.invite_branch, extra=["Supported: timer", "Session-Expires: 2"]))
        final = ua.wait_final(short.call_id, "INVITE", 3.0)
        assert final is not None and final.status == 422 and final.get("min-se") == "3", final

        call = sipua.Call(ua, "100")
        ua.send_raw(ua.request("INVITE", call.uri, call.call_id, 1, call.from_tag, body=sipua.make_sdp(listener.port),
                               branch=call.invite_branch, extra=["Supported: timer", "Session-Expires: 3;refresher=uac"]))
        call.final = ua.wait_final(call.call_id, "INVITE", 3.0)
        assert call.final is not None and call.final.status == 200, call.final
        call.to_tag = sipua.tag_of(call.final.get("to"))
        assert call.final.get("session-expires") == "3;refresher=uac", call.final
        assert "timer" in (call.final.get("require") or ""), call.final
        call.ack()
        t0 = time.monotonic()
        # Keep media flowing so only the session timer can end the call.
        silence = rtp.ulaw_encode(np.zeros(160, dtype=np.int32))
        target = (call.answer_sdp["c"], call.answer_sdp["audio_port"])
        seq = 0

        def send_media(seconds):
            nonlocal seq
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                listener.sendto(rtp.build_rtp(0, seq, seq * 160, 0x51, silence, marker=seq == 0), target)
                seq += 1
                time.sleep(0.02)

        send_media(1.5)
        call.cseq += 1
        ua.send_raw(ua.request("UPDATE", call.remote_target(), call.call_id, call.cseq, call.from_tag,
                               to_tag=call.to_tag, to_uri=call.uri, extra=["Supported: timer", "Session-Expires: 3;refresher=uac"]))
        upd = ua.wait_final(call.call_id, "UPDATE", 2.0)
        assert upd is not None and upd.status == 200 and upd.get("session-expires") == "3;refresher=uac", upd
        send_media(1.5)
        assert not events_for(server, call.call_id, "call.ended"), "the refresh did not keep the call"
        send_media(1.5)
        bye = ua.wait_request("BYE", call.call_id, 2.0)
        assert bye is not None, "no BYE after the session expired" + server.describe()
        assert time.monotonic() - t0 >= 3.0
    ended = server.wait_event(lambda e: e.get("event") == "call.ended" and e.get("call_id") == call.call_id, 2.0)
    assert ended is not None and ended.get("cause") == "session-expired", ended


def test_malformed_in_dialog_requests_are_refused_and_the_call_goes_on(parley_server):
    """An INFO without a key gets 400, an UPDATE and a re-INVITE with broken SDP 488
    with a Warning; the call is still up afterwards and ends normally."""
    with sipua.SipUA(parley_server.sip_port) as ua, rtp.RtpListener() as listener:
        call = ua.invite("100", sipua.make_sdp(listener.port), timeout=5.0)
        assert call.final is not None and call.final.status == 200
        call.ack()

        def in_dialog(method, body, ctype):
            call.cseq += 1
            ua.send_raw(ua.request(method, call.remote_target(), call.call_id, call.cseq, call.from_tag,
                                   to_tag=call.to_tag, to_uri=call.uri, body=body, content_type=ctype))
            return ua.wait_final(call.call_id, method, 3.0)

        r = in_dialog("INFO", "Duration=160\r\n", "application/dtmf-relay")
        assert r is not None and r.status == 400 and r.get("warning"), r
        r = in_dialog("UPDATE", "v=0\r\nm=audio x RTP/AVP 0\r\n", "application/sdp")
        assert r is not None and r.status == 488 and r.get("warning"), r
        r = in_dialog("INVITE", "v=0\r\nm=audio x RTP/AVP 0\r\n", "application/sdp")
        assert r is not None and r.status == 488 and r.get("warning"), r
        n = listener.count()
        time.sleep(0.4)
        assert listener.count() > n + 10, "media stopped after the refused requests"
        assert call.bye().status == 200
    ended = parley_server.wait_event(lambda e: e.get("event") == "call.ended" and e.get("call_id") == call.call_id, 3.0)
    assert ended is not None and ended.get("cause") == "bye", ended


def test_requests_we_send_in_a_dialog_follow_its_route_set(parley_server):
    """Given an INVITE that passed a proxy (Record-Route with lr), the 200 copies the
    Record-Route, and the BYE the server sends at the media timeout goes to the proxy with
    the route set as Route, our tag in From, the caller's in To and the caller's Contact as
    Request-URI (RFC 3261 §12.2.1.1, loose routing)."""
    with sipua.SipUA(parley_server.sip_port) as ua, rtp.RtpListener() as listener, \
            rtp.RtpListener() as proxy:
        call = sipua.Call(ua, "100")
        route = f"<sip:127.0.0.1:{proxy.port};lr>"
        ua.send_raw(ua.request("INVITE", call.uri, call.call_id, 1, call.from_tag, body=sipua.make_sdp(listener.port),
                               branch=call.invite_branch, extra=[f"Record-Route: {route}"]))
        call.final = ua.wait_final(call.call_id, "INVITE", 5.0)
        assert call.final is not None and call.final.status == 200, f"{call.final}{parley_server.describe()}"
        assert call.final.get("record-route") == route, call.final
        call.to_tag = sipua.tag_of(call.final.get("to"))
        call.ack()
        # No RTP from the caller: the media timeout ends the call with a BYE, sent to the proxy.
        deadline = time.monotonic() + MEDIA_TIMEOUT_S + 3.0
        bye = None
        while bye is None and time.monotonic() < deadline:
            for _, data, _ in proxy.snapshot():
                msg = sipua.parse_message(data)
                if msg.method == "BYE":
                    bye = msg
            time.sleep(0.05)
        assert bye is not None, "no BYE reached the proxy" + parley_server.describe()
        assert bye.get("route") == route, bye
        assert bye.start_line.split()[1] == f"sip:e2e@127.0.0.1:{ua.local_port}", bye.start_line
        assert sipua.tag_of(bye.get("from")) == call.to_tag and sipua.tag_of(bye.get("to")) == call.from_tag, bye
        assert ua.wait_request("BYE", call.call_id, 0.5) is None, "the BYE bypassed the proxy"
