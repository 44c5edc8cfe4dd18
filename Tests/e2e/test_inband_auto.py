"""In-band DTMF detection runs only where it is needed (`rtp.inband_dtmf: auto`, the default)."""
from __future__ import annotations

import time

from conftest import running_server

import rtp
import sipua


def send_inband_digits(parley_server, payloads, digits: str) -> list[tuple[str, str]]:
    """One call offering `payloads`; the caller keys `digits` as tones in its audio.
    Returns the DTMF events the server reported for the call."""
    audio = rtp.dtmf_samples(digits, tone_ms=120, gap_ms=120, lead_ms=200, tail_ms=300)
    frames = [audio[i:i + 160] for i in range(0, len(audio) - 159, 160)]
    with sipua.SipUA(parley_server.sip_port) as ua, rtp.RtpListener() as listener:
        call = ua.invite("100", sipua.make_sdp(listener.port, payloads), timeout=5.0)
        assert call.final is not None and call.final.status == 200, f"INVITE: {call.final}{parley_server.describe()}"
        call.ack()
        target = (call.answer_sdp["c"], call.answer_sdp["audio_port"])
        for i, f in enumerate(frames):
            listener.sendto(rtp.build_rtp(0, 100 + i, 1000 + 160 * i, 0xD7F0, rtp.ulaw_encode(f), marker=i == 0), target)
            time.sleep(0.02)
        time.sleep(0.5)
        assert call.bye().status == 200
    ended = parley_server.wait_event(lambda e: e.get("event") == "call.ended" and e.get("call_id") == call.call_id, 3.0)
    assert ended is not None, "no call.ended" + parley_server.describe()
    return [(e["digit"], e["source"]) for e in parley_server.events()
            if e.get("call_id") == call.call_id and e["event"] == "dtmf"]


def test_auto_detects_inband_only_when_the_peer_negotiated_no_telephone_event(parley_bin, prompts_dir, tmp_path):
    """Given inband_dtmf: auto, a caller who offers telephone-event keys by RFC 4733, so tones
    in its audio are not looked for; a caller who offers none is heard in-band."""
    with running_server(parley_bin, tmp_path, prompts_dir, inband_dtmf="auto") as server:
        with_events = send_inband_digits(server, (0, 101), "258")
        assert with_events == [], f"in-band detection ran although telephone-event was negotiated: {with_events}"
        without = send_inband_digits(server, (0,), "258")
        assert without == [(d, "inband") for d in "258"], f"DTMF {without}"
