"""Attacks on a live call by someone who knows its Call-ID (issue 16).

The caller is on 127.0.0.1, the attacker on 127.0.0.66: another loopback address, outside
`sip.trusted` (127.0.0.1/32 here). Requests that do not match the call's dialog (RFC 3261
§12.2.2: To tag ours, From tag the caller's, CSeq going up) get 481 or 500 and change
nothing; requests that change the session from a stranger's address get 403; RTP from a
stranger is dropped whether it comes before or after the caller's first packet."""
from __future__ import annotations

import time

import numpy as np
import pytest

import rtp
import sipua
from conftest import running_server

ATTACKER = "127.0.0.66"


@pytest.fixture
def guarded_server(parley_bin, prompts_dir, tmp_path):
    with running_server(parley_bin, tmp_path, prompts_dir, sip_extra="  trusted: [127.0.0.1/32]\n") as server:
        yield server


@pytest.fixture
def attacker(guarded_server):
    sipua.require_local_address(ATTACKER)
    with sipua.SipUA(guarded_server.sip_port, local_host=ATTACKER) as ua, rtp.RtpListener(host=ATTACKER) as media:
        yield ua, media


def place_call(server, ua, listener):
    call = ua.invite("100", sipua.make_sdp(listener.port, (0, 101)), timeout=5.0)
    assert call.final is not None and call.final.status == 200, f"INVITE: {call.final}{server.describe()}"
    call.ack()
    assert listener.wait_for(5, 3.0), "no RTP to the caller" + server.describe()
    return call


def forge(ua, call, method, cseq, from_tag, to_tag, body="", content_type=None, extra=None):
    """A request in `call`'s Call-ID from the attacker's socket; returns its final response."""
    ua.send_raw(ua.request(method, call.remote_target(), call.call_id, cseq, from_tag, to_tag=to_tag,
                           to_uri=call.uri, body=body, content_type=content_type, extra=extra))
    return ua.wait_final(call.call_id, method, 3.0)


def assert_call_alive(server, call, listener):
    n = listener.count()
    assert listener.wait_for(n + 10, 2.0), "the caller stopped getting audio" + server.describe()
    ended = [e for e in server.call_events(call.call_id) if e["event"] == "call.ended"]
    assert not ended, f"the call ended: {ended}{server.describe()}"


def hang_up(server, call):
    bye = call.bye()
    assert bye is not None and bye.status == 200, f"caller's BYE: {bye}{server.describe()}"


def test_bye_with_wrong_tags_gets_481_and_the_call_survives(guarded_server, attacker):
    """Given a live call, a BYE with a guessed To tag, a guessed From tag or no To tag gets
    481 and the call goes on; the caller's own BYE with a CSeq below its last gets 500."""
    evil, _ = attacker
    with sipua.SipUA(guarded_server.sip_port) as ua, rtp.RtpListener() as listener:
        call = place_call(guarded_server, ua, listener)
        for from_tag, to_tag in [(call.from_tag, "guessed"), ("guessed", call.to_tag), (call.from_tag, None)]:
            r = forge(evil, call, "BYE", 50, from_tag, to_tag)
            assert r is not None and r.status == 481, f"BYE from={from_tag} to={to_tag}: {r}{guarded_server.describe()}"
        assert_call_alive(guarded_server, call, listener)
        # The caller's INFO at CSeq 5, then a BYE at CSeq 3: out of order (§12.2.2).
        call.cseq = 5
        ua.send_raw(ua.request("INFO", call.remote_target(), call.call_id, 5, call.from_tag, to_tag=call.to_tag, to_uri=call.uri))
        r = ua.wait_final(call.call_id, "INFO", 3.0)
        assert r is not None and r.status == 200, f"the caller's INFO: {r}"
        ua.send_raw(ua.request("BYE", call.remote_target(), call.call_id, 3, call.from_tag, to_tag=call.to_tag, to_uri=call.uri))
        r = ua.wait_final(call.call_id, "BYE", 3.0)
        assert r is not None and r.status == 500, f"BYE with a lower CSeq: {r}"
        assert_call_alive(guarded_server, call, listener)
        hang_up(guarded_server, call)


def test_reinvite_without_our_to_tag_gets_481_and_media_is_not_redirected(guarded_server, attacker):
    """Given a live call, a re-INVITE with no To tag or a guessed one, whose SDP points at
    the attacker, gets 481; the attacker receives no RTP and the caller keeps it."""
    evil, evil_media = attacker
    with sipua.SipUA(guarded_server.sip_port) as ua, rtp.RtpListener() as listener:
        call = place_call(guarded_server, ua, listener)
        sdp = sipua.make_sdp(evil_media.port, (0, 101), ip=ATTACKER)
        for to_tag in [None, "guessed"]:
            r = forge(evil, call, "INVITE", 60, call.from_tag, to_tag, body=sdp)
            assert r is not None and r.status == 481, f"re-INVITE to={to_tag}: {r}{guarded_server.describe()}"
        time.sleep(1.0)
        assert evil_media.count() == 0, "media went to the attacker"
        assert_call_alive(guarded_server, call, listener)
        assert not [e for e in guarded_server.call_events(call.call_id) if e["event"] == "call.codec_changed"]
        hang_up(guarded_server, call)


def test_reinvite_with_the_right_tags_from_a_stranger_gets_403(guarded_server, attacker):
    """Given an attacker who learned the tags, a re-INVITE from outside sip.trusted and from
    another address than the caller's gets 403 and the media stays with the caller."""
    evil, evil_media = attacker
    with sipua.SipUA(guarded_server.sip_port) as ua, rtp.RtpListener() as listener:
        call = place_call(guarded_server, ua, listener)
        sdp = sipua.make_sdp(evil_media.port, (0, 101), ip=ATTACKER)
        r = forge(evil, call, "INVITE", 60, call.from_tag, call.to_tag, body=sdp)
        assert r is not None and r.status == 403, f"re-INVITE from {ATTACKER}: {r}{guarded_server.describe()}"
        time.sleep(1.0)
        assert evil_media.count() == 0, "media went to the attacker"
        assert_call_alive(guarded_server, call, listener)
        hang_up(guarded_server, call)


def test_info_dtmf_with_wrong_tags_gets_481_and_reports_no_key(guarded_server, attacker):
    """Given a live call, INFO dtmf-relay with guessed tags gets 481, and with the right
    tags from a stranger 403; no key is reported. The caller's own INFO still is."""
    evil, _ = attacker
    with sipua.SipUA(guarded_server.sip_port) as ua, rtp.RtpListener() as listener:
        call = place_call(guarded_server, ua, listener)
        body = "Signal=5\r\nDuration=160\r\n"
        r = forge(evil, call, "INFO", 70, call.from_tag, "guessed", body=body, content_type="application/dtmf-relay")
        assert r is not None and r.status == 481, f"INFO with a guessed To tag: {r}{guarded_server.describe()}"
        r = forge(evil, call, "INFO", 71, call.from_tag, call.to_tag, body=body, content_type="application/dtmf-relay")
        assert r is not None and r.status == 403, f"INFO from {ATTACKER}: {r}{guarded_server.describe()}"
        time.sleep(0.5)
        digits = [e for e in guarded_server.call_events(call.call_id) if e["event"] in ("dtmf", "menu.selected")]
        assert digits == [], f"forged keys reported: {digits}"
        call.cseq += 1
        ua.send_raw(ua.request("INFO", call.remote_target(), call.call_id, call.cseq, call.from_tag, to_tag=call.to_tag,
                               to_uri=call.uri, body="Signal=7\r\n", content_type="application/dtmf-relay"))
        r = ua.wait_final(call.call_id, "INFO", 3.0)
        assert r is not None and r.status == 200, f"the caller's INFO: {r}"
        assert guarded_server.wait_event(lambda e: e.get("call_id") == call.call_id and e.get("event") == "dtmf", 2.0)
        hang_up(guarded_server, call)
    dtmf = [e["digit"] for e in guarded_server.call_events(call.call_id) if e["event"] == "dtmf"]
    assert dtmf == ["7"], dtmf


def test_update_notify_and_refer_with_wrong_tags_get_481(guarded_server, attacker):
    """Given a live call, UPDATE (with an offer pointing at the attacker), NOTIFY (Event:
    refer, claiming a transfer went through) and REFER with guessed tags get 481 and change
    nothing."""
    evil, evil_media = attacker
    with sipua.SipUA(guarded_server.sip_port) as ua, rtp.RtpListener() as listener:
        call = place_call(guarded_server, ua, listener)
        sdp = sipua.make_sdp(evil_media.port, (0, 101), ip=ATTACKER)
        for to_tag in ["guessed", None]:
            r = forge(evil, call, "UPDATE", 80, call.from_tag, to_tag, body=sdp)
            assert r is not None and r.status == 481, f"UPDATE to={to_tag}: {r}{guarded_server.describe()}"
            r = forge(evil, call, "NOTIFY", 81, call.from_tag, to_tag, body="SIP/2.0 200 OK\r\n",
                      content_type="message/sipfrag", extra=["Event: refer", "Subscription-State: terminated;reason=noresource"])
            assert r is not None and r.status == 481, f"NOTIFY to={to_tag}: {r}{guarded_server.describe()}"
            r = forge(evil, call, "REFER", 82, call.from_tag, to_tag, extra=[f"Refer-To: <sip:evil@{ATTACKER}>"])
            assert r is not None and r.status == 481, f"REFER to={to_tag}: {r}{guarded_server.describe()}"
        time.sleep(1.0)
        assert evil_media.count() == 0, "media went to the attacker"
        assert_call_alive(guarded_server, call, listener)
        hang_up(guarded_server, call)


def test_rtp_from_a_stranger_never_takes_the_stream(guarded_server, attacker):
    """Given a live call, RTP a stranger sends to the call's port before the caller's first
    packet and after it is dropped and counted: the stranger receives nothing, the caller
    keeps getting the audio and is heard."""
    _, evil_media = attacker
    silence = rtp.ulaw_encode(np.zeros(160, dtype=np.int32))
    with sipua.SipUA(guarded_server.sip_port) as ua, rtp.RtpListener() as listener:
        call = place_call(guarded_server, ua, listener)
        target = (call.answer_sdp["c"], call.answer_sdp["audio_port"])
        for i in range(20):  # before the caller sends anything, in sequence (what latching learns from)
            evil_media.sendto(rtp.build_rtp(0, 100 + i, 160 * i, 0xBAD, silence, marker=i == 0), target)
            time.sleep(0.02)
        time.sleep(0.5)
        assert evil_media.count() == 0, "the stranger took the stream before the caller's first packet"
        for i in range(25):  # now the caller, and the stranger again
            listener.sendto(rtp.build_rtp(0, 1000 + i, 160 * i, 0xAAAA, silence, marker=i == 0), target)
            evil_media.sendto(rtp.build_rtp(0, 120 + i, 160 * (20 + i), 0xBAD, silence), target)
            time.sleep(0.02)
        time.sleep(0.5)
        assert evil_media.count() == 0, "the stranger took the stream after the caller's first packet"
        assert_call_alive(guarded_server, call, listener)
        hang_up(guarded_server, call)
    ended = guarded_server.wait_event(lambda e: e.get("event") == "call.ended" and e.get("call_id") == call.call_id, 3.0)
    assert ended is not None, "no call.ended" + guarded_server.describe()
    assert ended.get("rtp_stranger") == 45, f"stranger packets counted: {ended}"
    assert ended.get("rtp_in") == 25, f"packets taken from the caller: {ended}"
