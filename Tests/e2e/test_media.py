"""Media-plane behaviour seen from outside: symmetric RTP (latching) for callers behind NAT."""
from __future__ import annotations

import socket
import time

import numpy as np

import rtp
import sipua


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
