"""Changing the codec of an established call (RFC 3264 §8): a re-INVITE or an UPDATE (RFC 3311)
with a new offer is answered in the same dialog with the new codec, our SDP version goes up
by one, the port stays, and the RTP we send afterwards carries the new payload type."""
from __future__ import annotations

import time

import numpy as np
import pytest

import rtp
import sipua

OPUS = {111: "opus/48000/2"}


def rtp_types_after(listener, since: float) -> list[int]:
    types = []
    for t, data, _ in listener.snapshot():
        if t < since:
            continue
        try:
            pkt = rtp.parse_rtp(data)
        except ValueError:
            continue
        if not 72 <= pkt.payload_type <= 76:   # not RTCP
            types.append(pkt.payload_type)
    return types


def origin_version(body: bytes) -> tuple[str, int]:
    o = [l for l in body.decode().split("\r\n") if l.startswith("o=")][0].split()
    return o[1], int(o[2])


def offer_in_dialog(ua, call, method, sdp):
    call.cseq += 1
    ua.send_raw(ua.request(method, call.remote_target(), call.call_id, call.cseq, call.from_tag,
                           to_tag=call.to_tag, to_uri=call.uri, body=sdp))
    r = ua.wait_final(call.call_id, method, 3.0)
    if method == "INVITE" and r is not None and r.status == 200:
        ua.send_raw(ua.request("ACK", call.remote_target(), call.call_id, call.cseq, call.from_tag,
                               to_tag=call.to_tag, to_uri=call.uri))
    return r


def keep_sending(listener, target, pt, seconds, seq0=0):
    payload = rtp.ulaw_encode(np.zeros(160, dtype=np.int32)) if pt == 0 else rtp.alaw_encode(np.zeros(160, dtype=np.int32))
    end = time.monotonic() + seconds
    seq = seq0
    while time.monotonic() < end:
        listener.sendto(rtp.build_rtp(pt, seq, seq * 160, 0x4242, payload, marker=seq == seq0), target)
        seq += 1
        time.sleep(0.02)
    return seq


@pytest.mark.parametrize("method", ["INVITE", "UPDATE"])
def test_offer_in_dialog_changes_pcmu_to_pcma(parley_server, method):
    """Given a PCMU call, when a re-INVITE (or an UPDATE) offers only PCMA, then the 200
    answers PCMA on the same port with the SDP version one up, `call.codec_changed` names
    PCMA, and from then on our RTP has payload type 8."""
    with sipua.SipUA(parley_server.sip_port) as ua, rtp.RtpListener() as listener:
        call = ua.invite("100", sipua.make_sdp(listener.port, (0, 101)), timeout=5.0)
        assert call.final is not None and call.final.status == 200
        call.ack()
        first = call.answer_sdp
        target = (first["c"], first["audio_port"])
        seq = keep_sending(listener, target, 0, 0.6)
        assert set(rtp_types_after(listener, 0)) == {0}, rtp_types_after(listener, 0)

        r = offer_in_dialog(ua, call, method, sipua.make_sdp(listener.port, (8, 101)))
        assert r is not None and r.status == 200, f"{r}{parley_server.describe()}"
        answer = sipua.parse_sdp(r.body)
        assert answer["audio_port"] == first["audio_port"], (answer, first)
        assert answer["payloads"][0] == 8 and 0 not in answer["payloads"], answer
        session, version = origin_version(r.body)
        assert (session, version) == (origin_version(call.final.body)[0], origin_version(call.final.body)[1] + 1)
        changed_at = time.monotonic()
        keep_sending(listener, target, 8, 0.8, seq)
        after = rtp_types_after(listener, changed_at + 0.1)
        assert len(after) >= 20 and set(after) == {8}, after
        assert call.bye().status == 200
    changed = [e for e in parley_server.call_events(call.call_id) if e["event"] == "call.codec_changed"]
    assert len(changed) == 1 and changed[0]["codec"] == "PCMA" and changed[0]["payload_type"] == 8, changed
    assert changed[0]["method"] == method


def test_reinvite_changes_to_opus(parley_server):
    """A re-INVITE offering only Opus moves a G.711 call to opus/48000/2: the answer names
    it and our RTP then carries payload type 111 with 48 kHz timestamps (960 per 20 ms)."""
    with sipua.SipUA(parley_server.sip_port) as ua, rtp.RtpListener() as listener:
        call = ua.invite("100", sipua.make_sdp(listener.port, (0, 101)), timeout=5.0)
        assert call.final is not None and call.final.status == 200
        call.ack()
        assert listener.wait_for(10, 2.0)
        r = offer_in_dialog(ua, call, "INVITE", sipua.make_sdp(listener.port, (111, 101), extra_rtpmap=OPUS))
        assert r is not None and r.status == 200, f"{r}{parley_server.describe()}"
        assert "opus/48000/2" in r.body.decode().lower(), r.body
        changed_at = time.monotonic()
        time.sleep(0.8)
        packets = []
        for t, data, _ in listener.snapshot():
            if t > changed_at + 0.1:
                try:
                    packets.append(rtp.parse_rtp(data))
                except ValueError:
                    pass
        opus = [p for p in packets if p.payload_type == 111]
        assert len(opus) >= 20 and all(p.payload_type == 111 for p in packets if not 72 <= p.payload_type <= 76), \
            sorted({p.payload_type for p in packets})
        steps = {(b.timestamp - a.timestamp) % 2**32 for a, b in zip(opus, opus[1:]) if (b.seq - a.seq) % 65536 == 1}
        assert steps == {960}, steps
        assert call.bye().status == 200


def test_offer_with_no_common_codec_is_refused_and_the_call_keeps_its_codec(parley_server):
    """An UPDATE offering only G.729 gets 488 with a 305 Warning; RTP stays PCMU."""
    with sipua.SipUA(parley_server.sip_port) as ua, rtp.RtpListener() as listener:
        call = ua.invite("100", sipua.make_sdp(listener.port, (0, 101)), timeout=5.0)
        assert call.final is not None and call.final.status == 200
        call.ack()
        r = offer_in_dialog(ua, call, "UPDATE", sipua.make_sdp(listener.port, (18,)))
        assert r is not None and r.status == 488 and (r.get("warning") or "").startswith("305"), r
        t = time.monotonic()
        time.sleep(0.5)
        after = rtp_types_after(listener, t)
        assert len(after) >= 10 and set(after) == {0}, after
        assert call.bye().status == 200
