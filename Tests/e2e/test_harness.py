"""Self-checks of the suite's own helpers (no server needed): G.711, the
in-band DTMF pcap, RTP parsing and the correlation metric."""

from __future__ import annotations

import struct
import warnings

import numpy as np
import pytest

import rtp
import sipua

DTMF_2833_PCAP = "/usr/share/sip-tester/dtmf_2833_1.pcap"


def test_g711_reference_points():
    codes = bytes([0xFF, 0x7F, 0x00, 0x80])
    assert rtp.ulaw_decode(codes).tolist() == [0, 0, -32124, 32124]
    codes = bytes([0xD5, 0x55, 0xAA, 0x2A])
    assert rtp.alaw_decode(codes).tolist() == [8, -8, 32256, -32256]
    # silence encodes to the usual idle codes
    assert rtp.ulaw_encode([0]) == b"\xff"
    assert rtp.alaw_encode([0]) == b"\xd5"
    # every code survives decode -> encode (mu-law 0x7F is "negative zero" -> 0xFF)
    allc = bytes(range(256))
    u = np.frombuffer(rtp.ulaw_encode(rtp.ulaw_decode(allc).astype(np.int32)), np.uint8)
    assert [i for i in range(256) if u[i] != i] == [0x7F]
    a = np.frombuffer(rtp.alaw_encode(rtp.alaw_decode(allc).astype(np.int32)), np.uint8)
    assert (a == np.arange(256)).all()


def test_g711_matches_audioop():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")  # stdlib up to Python 3.12
    codes = bytes(range(256))
    assert (rtp.ulaw_decode(codes) == np.frombuffer(audioop.ulaw2lin(codes, 2), "<i2")).all()
    assert (rtp.alaw_decode(codes) == np.frombuffer(audioop.alaw2lin(codes, 2), "<i2")).all()
    lin = np.arange(-32768, 32768, dtype=np.int32)
    raw = lin.astype("<i2").tobytes()
    assert rtp.ulaw_encode(lin) == audioop.lin2ulaw(raw, 2)
    assert rtp.alaw_encode(lin) == audioop.lin2alaw(raw, 2)


def test_rtp_parse():
    pkt = rtp.build_rtp(101, 65535, 0xFFFFFFF0, 0xDEADBEEF, b"\x01\x0a\x00\xa0", marker=True)
    p = rtp.parse_rtp(pkt)
    assert (p.version, p.marker, p.payload_type, p.seq, p.timestamp, p.ssrc, p.payload) == \
        (2, True, 101, 65535, 0xFFFFFFF0, 0xDEADBEEF, b"\x01\x0a\x00\xa0")
    # CSRC, extension and padding are skipped
    hdr = struct.pack("!BBHII", 0x80 | 0x20 | 0x10 | 1, 0, 1, 2, 3) + b"CSRC" + b"\xbe\xde\x00\x01" + b"EXT!"
    p = rtp.parse_rtp(hdr + b"payload" + b"\x00\x00\x03")
    assert p.payload == b"payload"
    for bad in (b"", b"\x80" * 11, b"\x00" * 12, struct.pack("!BBHII", 0x8F, 0, 0, 0, 0)):
        with pytest.raises(ValueError):
            rtp.parse_rtp(bad)


def test_inband_dtmf_pcap(tmp_path):
    ref = rtp.read_pcap(DTMF_2833_PCAP)
    assert {p.payload_type for _, p, _ in ref} == {101} and ref[0][1].payload[0] == 1  # event "1"
    last = ref[-1][1]
    path = tmp_path / "inband.pcap"
    rtp.write_inband_dtmf_pcap(path, "47#", ssrc=last.ssrc, seq0=last.seq + 1,
                               ts0=ref[0][1].timestamp + 4000, total_ms=1500)
    pkts = rtp.read_pcap(path)
    assert len(pkts) == 75  # 1.5 s of 20 ms packets
    assert {p.ssrc for _, p, _ in pkts} == {last.ssrc}
    assert {p.payload_type for _, p, _ in pkts} == {0}
    assert pkts[0][1].marker and not any(p.marker for _, p, _ in pkts[1:])
    assert [p.seq for _, p, _ in pkts] == [last.seq + 1 + i for i in range(75)]
    assert [p.timestamp for _, p, _ in pkts] == [ref[0][1].timestamp + 4000 + 160 * i for i in range(75)]
    assert all(len(p.payload) == 160 for _, p, _ in pkts)
    assert np.allclose(np.diff([t for t, _, _ in pkts]), 0.020, atol=2e-6)
    assert {ports for _, _, ports in pkts} == {(6000, 10000)}

    audio = np.concatenate([rtp.ulaw_decode(p.payload) for _, p, _ in pkts]).astype(np.float64)
    assert rtp.detect_dtmf(audio) == "47#"
    # lead 100 ms, then 100 ms tone / 100 ms gap
    expected_peak = rtp.dbm0_to_peak(-10.0)
    for k, digit in enumerate("47#"):
        start = 800 + k * 1600
        tone = audio[start:start + 800]
        spec = np.abs(np.fft.rfft(tone * np.hanning(800), 8000))  # 1 Hz bins
        lo_band, hi_band = spec[600:1000], spec[1150:1700]
        f_lo, f_hi = 600 + int(np.argmax(lo_band)), 1150 + int(np.argmax(hi_band))
        want_lo, want_hi = rtp.DTMF_FREQS[digit]
        assert abs(f_lo - want_lo) <= 2 and abs(f_hi - want_hi) <= 2, (digit, f_lo, f_hi)
        # amplitude of each component: |X| = A * sum(window) / 2
        for f in (want_lo, want_hi):
            amp = 2 * spec[f - 3:f + 4].max() / np.hanning(800).sum()
            level = 20 * np.log10(amp / rtp.DBM0_PEAK)
            assert abs(level - -10.0) < 0.5, (digit, f, level)
        gap = audio[start + 800:start + 1600]
        assert np.abs(gap).max() == 0
    assert np.abs(audio[800 + 3 * 1600:]).max() == 0  # silence padding


def _speechlike(n, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 8000
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t) ** 2
    x = np.convolve(rng.standard_normal(n), np.hanning(9), "same") * env
    x += 0.5 * np.sin(2 * np.pi * (200 + 150 * t) * t)
    return 8000 * x / np.abs(x).max()


def test_correlation_metric():
    prompt = _speechlike(16000, 1)
    for enc, dec in ((rtp.ulaw_encode, rtp.ulaw_decode), (rtp.alaw_encode, rtp.alaw_decode)):
        coded = dec(enc(np.round(prompt).astype(np.int32))).astype(np.float64)
        received = np.concatenate([np.zeros(1234), coded, np.zeros(4000)])
        score, lag = rtp.normalized_xcorr(received, prompt)
        assert score >= 0.99 and lag == 1234, (score, lag)
    # partial / shorter received audio still scores, but lower
    score, _ = rtp.normalized_xcorr(prompt[:8000], prompt)
    assert 0.5 < score < 0.9
    # unrelated noise does not correlate
    noise = np.random.default_rng(2).standard_normal(40000) * 3000
    score, _ = rtp.normalized_xcorr(noise, prompt)
    assert abs(score) < 0.1, score
    # silence does not correlate (no division by zero)
    assert rtp.normalized_xcorr(np.zeros(20000), prompt)[0] == 0.0
    # the FFT result equals the definition at a few lags
    x = np.concatenate([np.zeros(100), prompt, noise[:500]])
    ref = prompt[:3000]
    for k in (0, 57, 100, 2000):
        w = x[k:k + len(ref)]
        direct = np.dot(w, ref) / np.sqrt(np.dot(w, w) * np.dot(ref, ref))
        num = rtp._fft_xcorr(x, ref)[k]
        assert abs(num / np.sqrt(np.dot(w, w) * np.dot(ref, ref)) - direct) < 1e-9


def test_sdp_and_sip_parsing():
    body = sipua.make_sdp(40004, (0, 8, 101)).encode()
    sdp = sipua.parse_sdp(body)
    assert sdp["c"] == "127.0.0.1" and sdp["audio_port"] == 40004 and sdp["payloads"] == [0, 8, 101]
    assert sdp["rtpmap"][101] == "telephone-event/8000" and sdp["fmtp"][101] == "0-16"
    msg = sipua.parse_message(b"SIP/2.0 200 OK\r\nv: SIP/2.0/UDP 127.0.0.1:5;branch=z9hG4bK1\r\n"
                              b"i: abc\r\nCSeq: 7 INVITE\r\nt: <sip:1@x>;tag=xyz\r\nAllow: INVITE,\r\n ACK\r\n"
                              b"l: 4\r\n\r\nbody")
    assert msg.status == 200 and msg.get("call-id") == "abc" and msg.cseq == (7, "INVITE")
    assert sipua.tag_of(msg.get("to")) == "xyz" and msg.get("allow") == "INVITE, ACK" and msg.body == b"body"
