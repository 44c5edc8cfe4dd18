"""Licences over SIP: a tenant without the voicemail licence gets not-available for voicemail."""
from __future__ import annotations

import time

import pytest

import rtp
import sipua
from conftest import running_server

NUMBERS = {"300": '{ voicemail: "1001" }'}


def tenant(licensed: bool) -> str:
    return (f"    licenses: {{ voicemail: {str(licensed).lower()} }}\n"
            '    mailboxes:\n      "1001": { name: Alice, pin: "2580" }\n')


@pytest.mark.parametrize("licensed", [False, True])
def test_voicemail_follows_the_licence(parley_bin, prompts_dir, tmp_path, licensed):
    """Given number 300 → voicemail 1001: without the licence the caller hears not-available
    and goodbye, then BYE (event licence.refused, no deposit); with it the deposit starts."""
    with running_server(parley_bin, tmp_path, prompts_dir, numbers=NUMBERS, tenant_extra=tenant(licensed)) as server, \
            sipua.SipUA(server.sip_port) as ua, rtp.RtpListener() as listener:
        call = ua.invite("300", sipua.make_sdp(listener.port), timeout=5.0)
        assert call.final is not None and call.final.status == 200, call.final
        call.ack()
        if licensed:
            started = server.wait_event(lambda e: e.get("event") == "voicemail.deposit_started", 5.0)
            assert started is not None, server.describe()
            assert call.bye().status == 200
            return
        bye = ua.wait_request("BYE", call.call_id, 10.0)
        assert bye is not None, "no BYE after not-available" + server.describe()
        time.sleep(0.2)
        heard = rtp.decode_stream([rtp.parse_rtp(p[1]) for p in listener.snapshot()])
        na, _ = rtp.read_wav(prompts_dir / "not-available.wav")
        score, _ = rtp.normalized_xcorr(heard, na)
        assert score >= 0.9, f"not-available heard with correlation {score:.2f}"
        events = [e.get("event") for e in server.events() if e.get("call_id") == call.call_id]
        assert "licence.refused" in events and "voicemail.deposit_started" not in events, events
