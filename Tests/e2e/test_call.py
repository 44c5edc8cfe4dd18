"""End-to-end tests: the real parley binary driven over UDP on 127.0.0.1."""

from __future__ import annotations

import os
import random
import re
import socket
import struct
import subprocess
import time

import numpy as np
import pytest

import rtp
import sipua
from conftest import MEDIA_TIMEOUT_S, RINGING_NUMBER, free_port_block, free_udp_port, parse_ts, write_config

DTMF_2833_PCAP = "/usr/share/sip-tester/dtmf_2833_1.pcap"
INBAND_DIGITS = "47#"
PAUSE_AFTER_2833_MS = 500  # uac_dtmf.xml: pause between the two plays
REQUIRED_ALLOW = {"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS"}


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def require_raw_sockets():
    """SIPp's play_pcap_audio sends through raw sockets."""
    if os.geteuid() == 0:
        return
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP).close()
    except PermissionError:
        pytest.fail("SIPp play_pcap_audio needs raw sockets: run as root or "
                    "`setcap cap_net_raw+ep $(which sipp)`", pytrace=False)


def media_block() -> int:
    """P with P, P+2 (bound by SIPp) and P+4 (our RTP listener) free."""
    return free_port_block(3, step=2, lo=40000, hi=60000)


def events_named(events, name, call_id=None):
    return [e for e in events if e.get("event") == name and (call_id is None or e.get("call_id") == call_id)]


def check_event_fields(events):
    """Every event has an ISO 8601 `ts`; call-scoped ones have a `call_id`."""
    problems = []
    for e in events:
        try:
            parse_ts(str(e.get("ts")))
        except (ValueError, TypeError):
            problems.append(f"bad or missing ts: {e}")
        if e["event"].split(".")[0] in ("call", "prompt", "dtmf") and not e.get("call_id"):
            problems.append(f"missing call_id: {e}")
    return problems


def single_call_id(server) -> str:
    received = events_named(server.events(), "call.received")
    assert len(received) == 1, f"expected one call.received, got {received}{server.describe()}"
    return received[0]["call_id"]


def rtp_stream_problems(captured, expected_pt: int) -> list[str]:
    """Header-level checks of what the server sent: one SSRC, seq +1, ts +160,
    marker on the first packet, the negotiated PT, 20 ms pacing."""
    problems = []
    pkts = []
    for t, data, _src in captured:
        try:
            pkts.append((t, rtp.parse_rtp(data)))
        except ValueError as e:
            problems.append(f"not RTP ({e}): {data[:16].hex()}")
    if len(pkts) < 10:
        return problems + [f"only {len(pkts)} RTP packets captured"]
    ssrcs = {p.ssrc for _, p in pkts}
    if len(ssrcs) != 1:
        problems.append(f"SSRC changed: {sorted(hex(s) for s in ssrcs)}")
    pts = {p.payload_type for _, p in pkts}
    if pts != {expected_pt}:
        problems.append(f"payload types {sorted(pts)}, expected only {expected_pt}")
    if not pkts[0][1].marker:
        problems.append("marker bit not set on the first packet")
    bad_seq = [(i, a.seq, b.seq) for i, ((_, a), (_, b)) in enumerate(zip(pkts, pkts[1:]))
               if (b.seq - a.seq) & 0xFFFF != 1]
    if bad_seq:
        problems.append(f"{len(bad_seq)} seq steps != 1, first: {bad_seq[:5]}")
    bad_ts = [(i, a.timestamp, b.timestamp) for i, ((_, a), (_, b)) in enumerate(zip(pkts, pkts[1:]))
              if (b.timestamp - a.timestamp) & 0xFFFFFFFF != rtp.SAMPLES_PER_PACKET]
    if bad_ts:
        problems.append(f"{len(bad_ts)} timestamp steps != 160, first: {bad_ts[:5]}")
    bad_len = [i for i, (_, p) in enumerate(pkts) if len(p.payload) != rtp.SAMPLES_PER_PACKET]
    if bad_len:
        problems.append(f"{len(bad_len)} packets without 160 bytes of payload, first at {bad_len[:5]}")
    times = np.array([t for t, _ in pkts])
    gaps = np.diff(times) * 1000
    median = float(np.median(gaps))
    if not 15 <= median <= 25:
        problems.append(f"median inter-arrival {median:.1f} ms, expected 15-25 ms")
    mean = (times[-1] - times[0]) * 1000 / (len(times) - 1)
    if not 18 <= mean <= 22:
        problems.append(f"mean packet interval {mean:.2f} ms over {len(times)} packets, expected 18-22 ms")
    return problems


def run_call_with_rtp(ua, number, sdp_payloads, listener, extra_rtpmap=None):
    sdp = sipua.make_sdp(listener.port, sdp_payloads, extra_rtpmap=extra_rtpmap)
    return ua.invite(number, sdp, timeout=5.0)


# ---------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------


def test_options(parley_server, sipp):
    with sipua.SipUA(parley_server.sip_port) as ua:
        resp = ua.options(timeout=2.0)
    assert resp is not None, f"no answer to OPTIONS{parley_server.describe()}"
    assert resp.status == 200, f"OPTIONS got {resp.start_line}\n{resp}"
    allow = {m.strip().upper() for h in resp.get_all("allow") for m in h.split(",")}
    missing = REQUIRED_ALLOW - allow
    assert not missing, f"Allow lacks {sorted(missing)}: {resp.get_all('allow')}\n{resp}"
    accept = ",".join(resp.get_all("accept")).lower()
    assert "application/sdp" in accept, f"Accept lacks application/sdp: {resp.get_all('accept')}\n{resp}"

    res = sipp.run("uac_options.xml")
    assert res.returncode == 0, "SIPp OPTIONS scenario failed" + res.describe() + parley_server.describe()


def test_call_dtmf_and_prompt(parley_server, sipp, tmp_path):
    require_raw_sockets()
    prompt, rate = rtp.read_wav(parley_server.prompts_dir / "welcome.wav")
    assert rate == rtp.SAMPLE_RATE, f"welcome.wav is {rate} Hz, expected 8000"
    prompt_ms = len(prompt) * 1000 // rate
    hold_ms = prompt_ms + 1000  # final pause of the scenario (-d)

    # the in-band pcap continues the RFC 4733 capture's stream: same SSRC, next seq,
    # timestamp advanced by the pause between the two plays
    ref = rtp.read_pcap(DTMF_2833_PCAP)
    last = ref[-1][1]
    inband = tmp_path / "inband_dtmf.pcap"
    rtp.write_inband_dtmf_pcap(inband, INBAND_DIGITS, ssrc=last.ssrc, seq0=(last.seq + 1) & 0xFFFF,
                               ts0=ref[0][1].timestamp + 8 * PAUSE_AFTER_2833_MS, total_ms=hold_ms)

    mp = media_block()
    with rtp.RtpListener(port=mp + 4) as listener:
        res = sipp.run("uac_dtmf.xml", media_port=mp, files=[inband], extra=["-d", str(hold_ms)],
                       timeout=hold_ms / 1000 + 20)
        assert res.returncode == 0, "SIPp DTMF scenario failed" + res.describe() + parley_server.describe()

        call_id = single_call_id(parley_server)
        ended = parley_server.wait_event(lambda e: e.get("event") == "call.ended" and e.get("call_id") == call_id,
                                         timeout=5.0)
        assert ended is not None, "no call.ended after BYE" + parley_server.describe()
        # media stops once the call has ended
        time.sleep(1.0)
        captured = listener.snapshot()
        time.sleep(1.0)
        late = listener.count() - len(captured)
    assert late == 0, f"{late} RTP packets still arriving more than 1 s after the call ended"

    # --- events ---
    events = parley_server.events()
    assert not check_event_fields(events), check_event_fields(events)
    ev = [e for e in events if e.get("call_id") == call_id]
    names = [e["event"] for e in ev]
    received = events_named(ev, "call.received")[0]
    assert received.get("tenant") == "demo" and received.get("number") == "100" and "from" in received, received
    answered = events_named(ev, "call.answered")
    assert len(answered) == 1, f"call.answered: {answered}{parley_server.describe()}"
    assert answered[0].get("codec") == "PCMU", f"offer was 0 8 101: PCMU expected, got {answered[0]}"
    assert names.index("call.received") < names.index("call.answered") < names.index("call.ended"), names

    dtmf = [(e.get("digit"), e.get("source")) for e in events_named(ev, "dtmf")]
    expected = [("1", "rfc4733")] + [(d, "inband") for d in INBAND_DIGITS]
    assert dtmf == expected, f"DTMF events {dtmf}, expected {expected}{parley_server.describe()}"

    started = [e for e in events_named(ev, "prompt.started") if e.get("prompt") == "welcome"]
    finished = [e for e in events_named(ev, "prompt.finished") if e.get("prompt") == "welcome"]
    assert len(started) == 1 and len(finished) == 1, f"prompt events: {started} {finished}"
    assert names.index("prompt.finished") < names.index("call.ended"), names

    ended_events = events_named(ev, "call.ended")
    assert len(ended_events) == 1 and ended_events[0].get("cause") == "bye", ended_events
    assert "dtmf" not in names[names.index("call.ended"):], f"DTMF reported after call.ended: {names}"

    # --- RTP from the server ---
    pt = rtp.CODEC_PT[answered[0]["codec"]]
    problems = rtp_stream_problems(captured, pt)
    assert not problems, "RTP stream problems:\n  " + "\n  ".join(problems)

    pkts = [rtp.parse_rtp(d) for _, d, _ in captured]
    audio = rtp.decode_stream(pkts)
    assert len(audio) >= len(prompt), (f"received {len(audio) / 8000:.2f} s of audio, "
                                       f"prompt is {len(prompt) / 8000:.2f} s")
    score, lag = rtp.normalized_xcorr(audio, prompt)
    assert score >= 0.9, f"received audio vs welcome.wav: correlation {score:.3f} at lag {lag} samples"
    # after the prompt: G.711 silence
    tail = audio[lag + len(prompt) + 1600:]
    if len(tail) >= 800:
        rms = float(np.sqrt(np.mean(tail ** 2)))
        assert rms < 100, f"after the prompt the server sent audio of RMS {rms:.0f}, expected silence"


def test_sdp_answer_negotiation(parley_server):
    """Codec choice follows the offerer's order; telephone-event keeps the offer's PT."""
    cases = [
        ((0, 8, 101), {}, 0, 101),
        ((8, 0, 101), {}, 8, 101),
        ((8, 0), {}, 8, None),
        ((0, 96), {96: "telephone-event/8000"}, 0, 96),
    ]
    with sipua.SipUA(parley_server.sip_port) as ua:
        for payloads, extra, want_codec, want_te in cases:
            with rtp.RtpListener() as listener:
                call = run_call_with_rtp(ua, "100", payloads, listener, extra)
                what = f"offer {payloads}"
                assert call.final is not None, f"{what}: no final response{parley_server.describe()}"
                assert call.final.status == 200, f"{what}: {call.final.start_line}\n{call.final}"
                assert any(p.status == 100 for p in call.provisional), f"{what}: no 100 Trying before the 200"
                assert call.to_tag, f"{what}: 200 OK without To tag"
                ctype = (call.final.get("content-type") or "").lower()
                assert ctype.startswith("application/sdp"), f"{what}: Content-Type {ctype!r}"
                sdp = call.answer_sdp
                assert sdp["c"] == "127.0.0.1", f"{what}: answer c= {sdp['c']}\n{call.final.body.decode()}"
                port = sdp["audio_port"]
                assert port and parley_server.rtp_start <= port <= parley_server.rtp_end, \
                    f"{what}: answer port {port} outside {parley_server.rtp_start}-{parley_server.rtp_end}"
                codecs = [p for p in sdp["payloads"] if p in (0, 8)]
                assert codecs and codecs[0] == want_codec, f"{what}: answer payloads {sdp['payloads']}"
                assert set(sdp["payloads"]) <= set(payloads), f"{what}: answer has PTs not offered: {sdp['payloads']}"
                te = [p for p in sdp["payloads"] if "telephone-event" in sdp["rtpmap"].get(p, "").lower()]
                if want_te is None:
                    assert not te, f"{what}: telephone-event answered but not offered: {sdp['lines']}"
                else:
                    assert te == [want_te], f"{what}: telephone-event PT {te}, expected {want_te}: {sdp['lines']}"
                call.ack()
                # RTP in the negotiated codec to the offer's address
                assert listener.wait_for(5, timeout=3.0), f"{what}: no RTP from the server{parley_server.describe()}"
                first = rtp.parse_rtp(listener.snapshot()[0][1])
                assert first.payload_type == want_codec, f"{what}: RTP PT {first.payload_type}"
                bye = call.bye()
                assert bye is not None and bye.status == 200, f"{what}: BYE -> {bye and bye.start_line}"
                answered = parley_server.wait_event(
                    lambda e: e.get("event") == "call.answered" and e.get("call_id") == call.call_id, 2.0)
                assert answered and answered.get("codec") == {0: "PCMU", 8: "PCMA"}[want_codec], answered


def test_unknown_number_404(parley_server, sipp):
    res = sipp.run("uac_unknown_number.xml", service="999")
    assert res.returncode == 0, "SIPp expected 404 for sip:999" + res.describe() + parley_server.describe()
    refused = parley_server.wait_event(lambda e: e.get("event") == "call.refused", timeout=2.0)
    assert refused is not None and refused.get("status") == 404, f"call.refused: {refused}{parley_server.describe()}"
    assert refused.get("call_id"), refused
    assert not events_named(parley_server.events(), "call.answered")


def test_no_common_codec_488(parley_server, sipp):
    res = sipp.run("uac_no_common_codec.xml", service="100")
    assert res.returncode == 0, "SIPp expected 488 for a G.729-only offer" + res.describe() + parley_server.describe()
    refused = parley_server.wait_event(lambda e: e.get("event") == "call.refused", timeout=2.0)
    assert refused is not None and refused.get("status") == 488, f"call.refused: {refused}{parley_server.describe()}"
    assert not events_named(parley_server.events(), "call.answered")


def test_bye_unknown_dialog_481(parley_server, sipp):
    res = sipp.run("uac_bye_unknown_dialog.xml", service="100")
    assert res.returncode == 0, "SIPp expected 481 for a BYE outside any dialog" + res.describe() + parley_server.describe()


def test_malformed_request_400(parley_server):
    port = parley_server.sip_port
    with sipua.SipUA(port) as ua:
        # a request without Call-ID: still answerable (it has a Via) -> 400
        branch = "z9hG4bKnocallid" + str(random.randint(0, 10**9))
        no_call_id = (f"INVITE sip:100@127.0.0.1:{port} SIP/2.0\r\n"
                      f"Via: SIP/2.0/UDP 127.0.0.1:{ua.local_port};branch={branch}\r\n"
                      "Max-Forwards: 70\r\n"
                      f"From: <sip:e2e@127.0.0.1:{ua.local_port}>;tag=nocid\r\n"
                      f"To: <sip:100@127.0.0.1:{port}>\r\n"
                      "CSeq: 1 INVITE\r\n"
                      "Content-Length: 0\r\n\r\n")
        ua.send_raw(no_call_id)
        resp = ua.wait_for(lambda m: m.is_response and m.status >= 200 and branch in (m.get("via") or ""), 3.0)
        assert resp is not None, f"no final response to a request without Call-ID{parley_server.describe()}"
        assert resp.status == 400, f"request without Call-ID got {resp.start_line}"

        # garbage of all sorts: the server must survive; answers, if any, are 400
        garbage = [
            b"",
            b"\x00",
            bytes(random.Random(7).getrandbits(8) for _ in range(1200)),
            b"\xff\xfe\xfd" * 300,
            b"NOT A SIP MESSAGE\r\n\r\n",
            b"INVITE\r\n\r\n",
            f"INVITE sip:100@127.0.0.1 SIP/9.9\r\nVia: SIP/2.0/UDP 127.0.0.1:{ua.local_port};branch=z9hG4bKbadver\r\n"
            f"Call-ID: badver@e2e\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n".encode(),
            f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{ua.local_port};branch=z9hG4bKbadlen\r\n"
            f"From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: badlen@e2e\r\nCSeq: 1 OPTIONS\r\n"
            f"Content-Length: 99999\r\n\r\nshort".encode(),
            f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{ua.local_port};branch=z9hG4bKbadcseq\r\n"
            f"From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: badcseq@e2e\r\nCSeq: banana\r\n"
            f"Content-Length: 0\r\n\r\n".encode(),
            b"INVITE sip:100@127.0.0.1 SIP/2.0\r\n" + b"X-Long: " + b"a" * 60000 + b"\r\n\r\n",
            b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKstray\r\nCall-ID: stray@e2e\r\n"
            b"CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
            b"\r\n\r\n",
        ]
        for g in garbage:
            ua.send_raw(g)
        ua.wait_for(lambda m: False, 0.5)  # collect whatever comes back
        answers = [m for m in ua.pending if m.is_response and m.status >= 200]
        assert parley_server.alive(), "parley died on malformed input" + parley_server.describe()
        wrong = [m.start_line for m in answers if m.status not in (400, 505)]
        assert not wrong, f"malformed requests answered with something else than 400: {wrong}"
        resp = ua.options(timeout=2.0)
        assert resp is not None and resp.status == 200, \
            f"OPTIONS after garbage: {resp and resp.start_line}{parley_server.describe()}"
    assert not events_named(parley_server.events(), "call.answered"), "a malformed INVITE was answered"


def test_media_timeout(parley_server, sipp):
    mp = media_block()
    with rtp.RtpListener(port=mp + 4):
        res = sipp.run("uac_media_timeout.xml", media_port=mp, timeout=25)
    assert res.returncode == 0, "SIPp media-timeout scenario failed" + res.describe() + parley_server.describe()
    call_id = single_call_id(parley_server)
    ended = parley_server.wait_event(lambda e: e.get("event") == "call.ended" and e.get("call_id") == call_id,
                                     timeout=MEDIA_TIMEOUT_S + 2)
    assert ended is not None, "call did not end without RTP" + parley_server.describe()
    assert ended.get("cause") == "media-timeout", f"cause {ended.get('cause')!r}{parley_server.describe()}"
    answered = events_named(parley_server.events(), "call.answered", call_id)
    assert answered, parley_server.describe()
    elapsed = (parse_ts(ended["ts"]) - parse_ts(answered[0]["ts"])).total_seconds()
    assert MEDIA_TIMEOUT_S - 0.5 <= elapsed <= MEDIA_TIMEOUT_S + 2, \
        f"call ended {elapsed:.2f} s after answer, media_timeout is {MEDIA_TIMEOUT_S} s"
    # the server tears the dialog down (RFC 3261 15): the scenario answered its BYE
    assert re.search(r"message received[^\n]*\n+BYE sip:", res.messages), \
        "no BYE from the server after the media timeout" + res.describe()


def test_garbage_rtp(parley_server):
    """Junk on the server's RTP port must not end the call or kill the server."""
    rng = random.Random(4733)
    with sipua.SipUA(parley_server.sip_port) as ua, rtp.RtpListener() as listener:
        call = run_call_with_rtp(ua, "100", (0, 8, 101), listener)
        assert call.final is not None and call.final.status == 200, \
            f"INVITE: {call.final and call.final.start_line}{parley_server.describe()}"
        call.ack()
        sdp = call.answer_sdp
        target = (sdp["c"], sdp["audio_port"])
        assert listener.wait_for(5, 3.0), "no RTP from the server" + parley_server.describe()

        def hdr(b0, b1, seq=1, ts=0, ssrc=0x1234):
            return struct.pack("!BBHII", b0, b1, seq, ts, ssrc)

        junk = [
            b"", b"\x80", b"\x80\x00", hdr(0x80, 0)[:11],                 # too short
            hdr(0x00, 0) + b"\xff" * 160,                                # version 0
            hdr(0xC0, 0) + b"\xff" * 160,                                # version 3
            hdr(0x8F, 0) + b"\xff" * 8,                                  # 15 CSRCs, packet too short
            hdr(0x90, 0) + b"\xbe\xde\xff\xff",                          # extension longer than packet
            hdr(0xA0, 0) + b"\xff" * 10 + b"\xff",                       # padding count > length
            hdr(0x80, 101) + b"\x01",                                    # truncated telephone-event
            hdr(0x80, 101) + b"\xc8\x8a\x00\xa0",                        # event code 200
            hdr(0x80, 127) + b"\x00" * 160,                              # PT nobody negotiated
            hdr(0x80, 0) + b"\xff" * 1400,                               # oversized G.711 frame
            hdr(0x80, 0x48) + b"\x00" * 20,                              # RTCP-ish (PT 72)
            b"\x80\xc8\x00\x06" + b"\x00" * 24,                          # RTCP SR
        ] + [bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 1500))) for _ in range(40)]

        # junk comes both from the offered port and from a stranger's port
        stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        stranger.bind(("127.0.0.1", 0))
        ssrc, seq, ts = rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(32)
        silence = rtp.ulaw_encode(np.zeros(160, dtype=np.int32))
        t0 = time.monotonic()
        try:
            # 2 s of valid 20 ms silence from the offered port, junk interleaved
            for i in range(100):
                listener.sendto(rtp.build_rtp(0, seq + i, ts + 160 * i, ssrc, silence, marker=i == 0), target)
                if junk:
                    (listener if i % 2 else stranger).sendto(junk.pop(0), target)
                time.sleep(max(0.0, t0 + (i + 1) * 0.02 - time.monotonic()))
        finally:
            stranger.close()

        assert parley_server.alive(), "parley died on garbage RTP" + parley_server.describe()
        assert not events_named(parley_server.events(), "call.ended", call.call_id), \
            "the call ended because of garbage RTP" + parley_server.describe()
        n = listener.count()
        time.sleep(0.5)
        assert listener.count() > n + 10, "the server stopped sending RTP after garbage" + parley_server.describe()
        with sipua.SipUA(parley_server.sip_port) as probe:
            assert probe.options() is not None, "no answer to OPTIONS after garbage RTP" + parley_server.describe()
        bye = call.bye()
        assert bye is not None and bye.status == 200, f"BYE -> {bye and bye.start_line}{parley_server.describe()}"
    ended = parley_server.wait_event(lambda e: e.get("event") == "call.ended" and e.get("call_id") == call.call_id, 3.0)
    assert ended is not None and ended.get("cause") == "bye", f"call.ended: {ended}{parley_server.describe()}"


def test_cancel_race(parley_server):
    """INVITE and CANCEL back to back. The contract's numbers answer at once,
    so either outcome is legal; each must be consistent and leave no call up."""
    with sipua.SipUA(parley_server.sip_port) as ua, rtp.RtpListener() as listener:
        call = sipua.Call(ua, "100")
        call.send_invite(sipua.make_sdp(listener.port))
        cancel = ua.request("CANCEL", call.uri, call.call_id, call.cseq, call.from_tag, branch=call.invite_branch)
        ua.send_raw(cancel)
        final = ua.wait_final(call.call_id, "INVITE", 5.0)
        cancel_resp = ua.wait_final(call.call_id, "CANCEL", 3.0)
        assert final is not None, "no final response to the INVITE" + parley_server.describe()
        assert cancel_resp is not None, "no response to the CANCEL" + parley_server.describe()
        call.final, call.to_tag = final, sipua.tag_of(final.get("to"))
        if final.status == 487:
            assert cancel_resp.status == 200, f"INVITE 487 but CANCEL got {cancel_resp.start_line}"
            call.ack()
            ended = parley_server.wait_event(
                lambda e: e.get("call_id") == call.call_id and e.get("event") in ("call.ended", "call.refused"), 3.0)
            assert ended is not None, "cancelled call left no call.ended/call.refused" + parley_server.describe()
            if ended["event"] == "call.ended":
                assert ended.get("cause") == "cancel", ended
        else:
            assert final.status == 200, f"INVITE got {final.start_line}"
            assert cancel_resp.status in (200, 481), f"late CANCEL got {cancel_resp.start_line}"
            call.ack()
            bye = call.bye()
            assert bye is not None and bye.status == 200, f"BYE -> {bye and bye.start_line}"
    assert parley_server.alive(), parley_server.describe()


def test_cancel_before_answer_487(parley_server_ringing):
    """CANCEL while the number rings: 200 for the CANCEL, 487 for the INVITE, no answer."""
    server = parley_server_ringing
    with sipua.SipUA(server.sip_port) as ua, rtp.RtpListener() as listener:
        call = sipua.Call(ua, RINGING_NUMBER)
        call.send_invite(sipua.make_sdp(listener.port))
        prov = ua.wait_for(lambda m: m.is_response and m.get("call-id") == call.call_id and m.cseq[1] == "INVITE", 3.0)
        assert prov is not None, "no response to the INVITE" + server.describe()
        assert prov.status < 200, f"number {RINGING_NUMBER} (answer_after: 5s) answered at once: {prov.start_line}"
        time.sleep(0.3)
        ua.send_raw(ua.request("CANCEL", call.uri, call.call_id, call.cseq, call.from_tag, branch=call.invite_branch))
        cancel_resp = ua.wait_final(call.call_id, "CANCEL", 3.0)
        final = ua.wait_final(call.call_id, "INVITE", 3.0)
        assert cancel_resp is not None and cancel_resp.status == 200, \
            f"CANCEL -> {cancel_resp and cancel_resp.start_line}{server.describe()}"
        assert final is not None and final.status == 487, f"INVITE -> {final and final.start_line}{server.describe()}"
        call.final, call.to_tag = final, sipua.tag_of(final.get("to"))
        call.ack()
        ended = server.wait_event(lambda e: e.get("call_id") == call.call_id and e.get("event") == "call.ended", 3.0)
        assert ended is not None and ended.get("cause") == "cancel", f"call.ended: {ended}{server.describe()}"
        assert not events_named(server.events(), "call.answered", call.call_id), server.describe()
        time.sleep(0.5)
        assert listener.count() == 0, f"{listener.count()} RTP packets for a call that was never answered"
        # the server must not answer later either (answer_after would have fired at 5 s)
        late = ua.wait_for(lambda m: m.is_response and m.get("call-id") == call.call_id and m.status == 200
                           and m.cseq[1] == "INVITE", 0.5)
        assert late is None, f"200 OK after CANCEL: {late}"


def test_bad_config_exits_nonzero(parley_bin, prompts_dir, tmp_path):
    config = write_config(tmp_path / "bad.yaml", free_udp_port(), 20000, prompts_dir)
    config.write_text(config.read_text().replace("ports: 20000-20199", "ports: not-a-range"))
    try:
        proc = subprocess.run([str(parley_bin), "serve", "--config", str(config),
                               "--events", str(tmp_path / "events.jsonl")],
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=15)
    except subprocess.TimeoutExpired:
        pytest.fail("parley kept running with an invalid rtp.ports", pytrace=False)
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode > 0, f"exit status {proc.returncode} for a bad config; stderr:\n{err}"
    lines = [line for line in err.splitlines() if "bad.yaml" in line and "ports" in line]
    assert lines, f"no stderr line naming the file (bad.yaml) and the key (ports):\n{err}"
