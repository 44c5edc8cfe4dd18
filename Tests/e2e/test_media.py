"""Media-plane behaviour seen from outside: symmetric RTP (latching) for callers behind NAT,
learning a source with rtp.latch: any, the jitter buffer, RTCP."""
from __future__ import annotations

import socket
import struct
import time

import numpy as np
import pytest

import rtp
import sipua
from conftest import running_server


def test_symmetric_rtp_latches_to_the_first_source_and_ignores_strangers(parley_server):
    """Given a caller whose SDP names one port but whose RTP really comes from another (NAT),
    when the first packets arrive, then the server sends to where they came from; packets a
    stranger sends afterwards are dropped and counted, and do not move the stream."""
    with sipua.SipUA(parley_server.sip_port) as ua, rtp.RtpListener() as offered, rtp.RtpListener() as real:
        call = ua.invite("100", sipua.make_sdp(offered.port, (0, 101)), timeout=5.0)
        assert call.final is not None and call.final.status == 200, f"INVITE: {call.final}{parley_server.describe()}"
        call.ack()
        sdp = call.answer_sdp
        target = (sdp["c"], sdp["audio_port"])
        # Before any RTP from the caller, media goes to the address in the offer.
        assert offered.wait_for(3, 3.0), "no RTP to the offered port before latching" + parley_server.describe()

        silence = rtp.ulaw_encode(np.zeros(160, dtype=np.int32))
        stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        stranger.bind(("127.0.0.1", 0))
        try:
            for i in range(25):  # 0.5 s from the real (NATed) port
                real.sendto(rtp.build_rtp(0, 1000 + i, 160 * i, 0xAAAA, silence, marker=i == 0), target)
                time.sleep(0.02)
            assert real.wait_for(10, 2.0), "the server did not latch to the RTP source" + parley_server.describe()
            before_offered = offered.count()
            for i in range(30):  # a stranger tries to take over the stream
                stranger.sendto(rtp.build_rtp(0, 5000 + i, 160 * i, 0xBBBB, silence), target)
                real.sendto(rtp.build_rtp(0, 1025 + i, 160 * (25 + i), 0xAAAA, silence), target)
                time.sleep(0.02)
            n_real = real.count()
            time.sleep(0.3)
            assert real.count() > n_real + 5, "media stopped flowing to the latched source" + parley_server.describe()
            # Nothing more to the offered port once latched (allow packets already in flight).
            assert offered.count() <= before_offered + 2, "the server kept sending to the offered port"
        finally:
            stranger.close()
        bye = call.bye()
        assert bye is not None and bye.status == 200
    ended = parley_server.wait_event(lambda e: e.get("event") == "call.ended" and e.get("call_id") == call.call_id, 3.0)
    assert ended is not None, "no call.ended" + parley_server.describe()
    assert ended.get("rtp_stranger") == 30, f"stranger packets counted: {ended}"
    assert ended.get("rtp_in") == 55, f"packets accepted from the latched source: {ended}"


@pytest.fixture
def learning_server(parley_bin, prompts_dir, tmp_path):
    with running_server(parley_bin, tmp_path, prompts_dir, rtp_extra="  latch: any\n") as server:
        yield server


def test_latch_any_learns_another_host_only_from_packets_in_sequence(learning_server):
    """Given rtp.latch: any and a caller whose RTP comes from another host than its SDP names
    (127.0.0.66, a NAT that rewrites the address), packets out of sequence are dropped and
    teach nothing; four in sequence latch the leg there, and the media follows."""
    server = learning_server
    try:
        nat = rtp.RtpListener(host="127.0.0.66")
    except OSError as e:
        pytest.skip(f"cannot bind 127.0.0.66: {e}")
    with nat, sipua.SipUA(server.sip_port) as ua, rtp.RtpListener() as offered:
        call = ua.invite("100", sipua.make_sdp(offered.port, (0, 101)), timeout=5.0)
        assert call.final is not None and call.final.status == 200, f"INVITE: {call.final}{server.describe()}"
        call.ack()
        target = (call.answer_sdp["c"], call.answer_sdp["audio_port"])
        silence = rtp.ulaw_encode(np.zeros(160, dtype=np.int32))
        for i in range(10):  # every other sequence number: never a run
            nat.sendto(rtp.build_rtp(0, 100 + 2 * i, 160 * i, 0xCAFE, silence), target)
            time.sleep(0.02)
        time.sleep(0.3)
        assert nat.count() == 0, "learned from packets out of sequence"
        for i in range(25):
            nat.sendto(rtp.build_rtp(0, 500 + i, 160 * (10 + i), 0xCAFE, silence), target)
            time.sleep(0.02)
        assert nat.wait_for(10, 2.0), "the leg did not learn the NAT's address" + server.describe()
        assert call.bye().status == 200
    ended = server.wait_event(lambda e: e.get("event") == "call.ended" and e.get("call_id") == call.call_id, 3.0)
    assert ended is not None, "no call.ended" + server.describe()
    # 10 out of sequence and the first 3 of the run were dropped; the 4th latched.
    assert ended.get("rtp_stranger") == 13 and ended.get("rtp_in") == 22, ended


def test_jitter_buffer_reorders_drops_duplicates_and_conceals_a_loss(parley_server):
    """Given in-band DTMF sent with neighbouring packets swapped, one packet twice and one
    packet lost, the keys are still heard once each; the duplicate is counted and the lost
    frame concealed."""
    digits = "258"
    audio = rtp.dtmf_samples(digits, tone_ms=120, gap_ms=120, lead_ms=200, tail_ms=300)
    frames = [audio[i:i + 160] for i in range(0, len(audio) - 159, 160)]
    with sipua.SipUA(parley_server.sip_port) as ua, rtp.RtpListener() as listener:
        call = ua.invite("100", sipua.make_sdp(listener.port, (0,)), timeout=5.0)
        assert call.final is not None and call.final.status == 200
        call.ack()
        target = (call.answer_sdp["c"], call.answer_sdp["audio_port"])
        packets = [(i, rtp.build_rtp(0, 100 + i, 1000 + 160 * i, 0xBEEF, rtp.ulaw_encode(f), marker=i == 0))
                   for i, f in enumerate(frames)]
        order = []
        for k in range(0, len(packets) - 1, 2):   # swap every pair: constant reordering
            order += [packets[k + 1], packets[k]]
        if len(packets) % 2:
            order.append(packets[-1])
        lost = 7                                  # in the lead silence: concealment, no key lost
        order = [p for p in order if p[0] != lost]
        order.insert(20, packets[19])             # a duplicate
        for _, data in order:
            listener.sendto(data, target)
            time.sleep(0.02)
        time.sleep(0.5)
        assert call.bye().status == 200
    evs = [e for e in parley_server.events() if e.get("call_id") == call.call_id]
    dtmf = [(e["digit"], e["source"]) for e in evs if e["event"] == "dtmf"]
    assert dtmf == [(d, "inband") for d in digits], f"DTMF {dtmf}"
    ended = parley_server.wait_event(lambda e: e.get("event") == "call.ended" and e.get("call_id") == call.call_id, 3.0)
    assert ended is not None, "no call.ended"
    assert ended["rtp_duplicate"] == 1, ended
    assert ended["concealed_frames"] >= 1, ended
    assert ended["jitter_buffer_ms"] > 0, ended


def sr_compound(ssrc: int, ntp: int, rtp_ts: int, report_about: int | None = None, lsr: int = 0, dlsr: int = 0) -> bytes:
    """An SR (with one report block when `report_about` is given) followed by SDES CNAME."""
    blocks = b""
    if report_about is not None:
        blocks = struct.pack("!IIIIII", report_about, 0, 100, 0, lsr, dlsr)
    count = 1 if blocks else 0
    body = struct.pack("!IQIII", ssrc, ntp, rtp_ts, 10, 1600) + blocks
    sr = struct.pack("!BBH", 0x80 | count, 200, len(body) // 4) + body
    cname = b"e2e@127.0.0.1"
    chunk = struct.pack("!I", ssrc) + bytes([1, len(cname)]) + cname + b"\x00"
    chunk += b"\x00" * (-len(chunk) % 4)
    sdes = struct.pack("!BBH", 0x81, 202, len(chunk) // 4) + chunk
    return sr + sdes


def ntp_now() -> int:
    t = time.time() + 2_208_988_800
    return (int(t) << 32) | int((t % 1) * (1 << 32))


@pytest.mark.parametrize("mux", [False, True])
def test_rtcp_reports_flow_both_ways_and_give_a_round_trip_time(parley_server, mux):
    """Given a call (RTCP on port + 1, or on the RTP port with rtcp-mux), the server sends
    SR + SDES compounds with a report block about our stream; our SR and a report block
    quoting the server's SR let it compute the round-trip time."""
    with sipua.SipUA(parley_server.sip_port) as ua, rtp.RtpListener() as media:
        rtcp_sock = media if mux else rtp.RtpListener(port=media.port + 1)
        try:
            sdp = sipua.make_sdp(media.port, (0,))
            if mux:
                sdp = sdp.replace("a=sendrecv", "a=rtcp-mux\r\na=sendrecv")
            call = ua.invite("100", sdp, timeout=5.0)
            assert call.final is not None and call.final.status == 200
            assert ("a=rtcp-mux" in call.final.body.decode()) == mux, call.final.body.decode()
            call.ack()
            answer = call.answer_sdp
            server_rtp = (answer["c"], answer["audio_port"])
            server_rtcp = server_rtp if mux else (answer["c"], answer["audio_port"] + 1)
            silence = rtp.ulaw_encode(np.zeros(160, dtype=np.int32))
            ours = 0xC0FFEE
            got_sr = None
            deadline = time.monotonic() + 9.0
            seq = 0
            sent_sr = False
            while time.monotonic() < deadline:
                media.sendto(rtp.build_rtp(0, seq, seq * 160, ours, silence, marker=seq == 0), server_rtp)
                seq += 1
                if seq == 50 and not sent_sr:
                    rtcp_sock.sendto(sr_compound(ours, ntp_now(), seq * 160), server_rtcp)
                    sent_sr = True
                for _, data, _ in rtcp_sock.snapshot():
                    # An SR (PT 200) with at least one report block (RC > 0).
                    if len(data) >= 8 and data[1] == 200 and data[0] & 0x1F and got_sr is None:
                        got_sr = (data, time.monotonic())
                if got_sr:
                    break
                time.sleep(0.02)
            assert got_sr is not None, "no SR with a report block from the server within 9 s" + parley_server.describe()
            data, when = got_sr
            server_ssrc = struct.unpack("!I", data[4:8])[0]
            ntp = struct.unpack("!Q", data[8:16])[0]
            block_ssrc = struct.unpack("!I", data[28:32])[0]
            assert block_ssrc == ours, f"report block about {block_ssrc:#x}, expected our SSRC"
            assert b"parley" in data, "no SDES CNAME in the compound"
            # Answer with a report block quoting the server's SR (LSR) and our holding time (DLSR).
            lsr = (ntp >> 16) & 0xFFFFFFFF
            dlsr = int((time.monotonic() - when) * 65536)
            rtcp_sock.sendto(sr_compound(ours, ntp_now(), seq * 160, report_about=server_ssrc, lsr=lsr, dlsr=dlsr), server_rtcp)
            time.sleep(0.3)
            assert call.bye().status == 200
        finally:
            if not mux:
                rtcp_sock.close()
    ended = parley_server.wait_event(lambda e: e.get("event") == "call.ended" and e.get("call_id") == call.call_id, 3.0)
    assert ended is not None, "no call.ended"
    assert ended["rtcp_received"] == 2 and ended["rtcp_sent"] >= 1, ended
    assert 0 <= ended["rtt_ms"] < 100, ended
    assert ended["rtp_malformed"] == 0, ended
