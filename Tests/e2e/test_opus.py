"""An Opus call (RFC 7587) against the real server, with libopus driven through ctypes."""
from __future__ import annotations

import ctypes
import ctypes.util
import struct
import time
from pathlib import Path

import numpy as np

import rtp
import sipua

OPUS_APPLICATION_VOIP = 2048


class Opus:
    """The few libopus calls the test needs (libopus0 comes with libopus-dev)."""

    def __init__(self):
        name = ctypes.util.find_library("opus") or "libopus.so.0"
        self.lib = ctypes.CDLL(name)
        self.lib.opus_decoder_create.restype = ctypes.c_void_p
        self.lib.opus_encoder_create.restype = ctypes.c_void_p
        self.lib.opus_decode.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32,
                                         ctypes.POINTER(ctypes.c_int16), ctypes.c_int, ctypes.c_int]
        self.lib.opus_encode.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int16), ctypes.c_int,
                                         ctypes.c_char_p, ctypes.c_int32]

    def decoder(self, rate: int):
        err = ctypes.c_int()
        d = self.lib.opus_decoder_create(rate, 1, ctypes.byref(err))
        assert err.value == 0 and d, f"opus_decoder_create: {err.value}"
        return d

    def encoder(self, rate: int):
        err = ctypes.c_int()
        e = self.lib.opus_encoder_create(rate, 1, OPUS_APPLICATION_VOIP, ctypes.byref(err))
        assert err.value == 0 and e, f"opus_encoder_create: {err.value}"
        return e

    def decode(self, dec, packet: bytes, max_samples: int = 5760) -> np.ndarray:
        out = (ctypes.c_int16 * max_samples)()
        n = self.lib.opus_decode(dec, packet, len(packet), out, max_samples, 0)
        assert n > 0, f"opus_decode failed: {n}"
        return np.frombuffer(out, dtype=np.int16, count=n).astype(np.int32)

    def encode(self, enc, pcm: np.ndarray) -> bytes:
        frame = (ctypes.c_int16 * len(pcm))(*[int(v) for v in np.clip(pcm, -32768, 32767)])
        out = ctypes.create_string_buffer(1500)
        n = self.lib.opus_encode(enc, frame, len(pcm), out, 1500)
        assert n > 0, f"opus_encode failed: {n}"
        return out.raw[:n]


def opus_offer(port: int) -> str:
    lines = ["v=0", "o=e2e 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
             f"m=audio {port} RTP/AVP 111 0 101 102",
             "a=rtpmap:111 opus/48000/2", "a=fmtp:111 maxplaybackrate=16000;sprop-maxcapturerate=16000;useinbandfec=1",
             "a=rtpmap:0 PCMU/8000",
             "a=rtpmap:101 telephone-event/48000", "a=fmtp:101 0-16",
             "a=rtpmap:102 telephone-event/8000", "a=fmtp:102 0-16",
             "a=ptime:20", "a=sendrecv"]
    return "\r\n".join(lines) + "\r\n"


def test_opus_call_plays_the_prompt_and_hears_dtmf(parley_server, repo_root):
    """Given a caller that prefers Opus, the answer picks opus/48000/2 with telephone-event at
    48 kHz; the prompt arrives as Opus with 960-tick timestamps and decodes to the prompt's
    audio; a key sent as RFC 4733 and another sent in-band inside Opus are both reported."""
    opus = Opus()
    with sipua.SipUA(parley_server.sip_port) as ua, rtp.RtpListener() as listener:
        call = ua.invite("100", opus_offer(listener.port), timeout=5.0)
        assert call.final is not None and call.final.status == 200, f"INVITE: {call.final}{parley_server.describe()}"
        body = call.final.body.decode()
        assert "m=audio" in body and " RTP/AVP 111 101" in body, f"answer did not choose Opus + te/48000:\n{body}"
        assert "a=rtpmap:111 opus/48000/2" in body, body
        assert "a=rtpmap:101 telephone-event/48000" in body, body
        fmtp = [l for l in body.splitlines() if l.startswith("a=fmtp:111 ")]
        assert fmtp and "useinbandfec=1" in fmtp[0], f"answer lacks our Opus parameters: {fmtp}"
        call.ack()
        sdp = call.answer_sdp
        target = (sdp["c"], sdp["audio_port"])

        prompt, rate = rtp.read_wav(Path(repo_root) / "prompts" / "welcome.wav")
        frames_needed = len(prompt) // 160 + 30
        assert listener.wait_for(frames_needed, 10.0), "not enough Opus RTP" + parley_server.describe()

        # Our side: RFC 4733 '5' at the 48 kHz clock, then '3' in-band as Opus at 16 kHz.
        ssrc, seq, ts = 0x0DD5, 100, 4800
        for i in range(6):
            end = i >= 3
            payload = struct.pack("!BBH", 5, (0x80 if end else 0) | 10, 960 * (i + 1))
            listener.sendto(rtp.build_rtp(101, seq, ts, ssrc, payload, marker=i == 0), target)
            seq += 1
            time.sleep(0.02)
        ts += 960 * 8
        enc = opus.encoder(16000)
        tone = rtp.dtmf_samples("3", tone_ms=120, gap_ms=100, lead_ms=100, tail_ms=200, rate=16000)
        for i in range(len(tone) // 320):
            listener.sendto(rtp.build_rtp(111, seq, ts, ssrc, opus.encode(enc, tone[i * 320:(i + 1) * 320])), target)
            seq += 1
            ts += 960
            time.sleep(0.02)
        time.sleep(0.3)
        bye = call.bye()
        assert bye is not None and bye.status == 200

    packets = [rtp.parse_rtp(data) for _, data, _ in listener.snapshot()]
    packets = [p for p in packets if p is not None and p.payload_type == 111]
    assert len(packets) >= frames_needed, f"only {len(packets)} Opus packets"
    assert packets[0].marker, "first packet without marker"
    steps = {(b.timestamp - a.timestamp) & 0xFFFFFFFF for a, b in zip(packets, packets[1:]) if (b.seq - a.seq) & 0xFFFF == 1}
    assert steps == {960}, f"timestamp steps {steps}, expected 960 (48 kHz clock, 20 ms)"

    dec = opus.decoder(8000)
    audio = np.concatenate([opus.decode(dec, p.payload) for p in packets])
    score, lag = rtp.normalized_xcorr(audio, prompt)
    print(f"Opus call: {len(packets)} packets, correlation {score:.4f} at lag {lag}")
    assert score >= 0.9, f"decoded Opus vs welcome.wav: correlation {score:.3f} at lag {lag}"

    ended = parley_server.wait_event(lambda e: e.get("event") == "call.ended" and e.get("call_id") == call.call_id, 3.0)
    assert ended is not None, "no call.ended" + parley_server.describe()
    answered = [e for e in parley_server.events() if e.get("event") == "call.answered" and e.get("call_id") == call.call_id]
    assert answered and answered[0].get("codec") == "opus", answered
    dtmf = [(e["digit"], e["source"]) for e in parley_server.events() if e.get("event") == "dtmf" and e.get("call_id") == call.call_id]
    assert dtmf == [("5", "rfc4733"), ("3", "inband")], f"DTMF events {dtmf}{parley_server.describe()}"
