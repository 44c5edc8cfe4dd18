"""The transaction layer in the call path (RFC 3261 §17). Requests Parley sends run on client
transactions: over UDP a BYE nobody answers is
retransmitted (Timer E: T1, then doubling), the same request each time (same branch and
CSeq), and stops once answered."""
from __future__ import annotations

import time

import rtp
import sipua
from conftest import MEDIA_TIMEOUT_S


class SilentUA(sipua.SipUA):
    """Answers no request on its own: the test decides."""

    def _answer_request(self, req):
        self.pending.append(req)

    def answer(self, req, status=200, reason="OK"):
        lines = [f"SIP/2.0 {status} {reason}"] + [f"Via: {v}" for v in req.get_all("via")]
        lines += [f"From: {req.get('from')}", f"To: {req.get('to')}", f"Call-ID: {req.get('call-id')}",
                  f"CSeq: {req.get('cseq')}", "Content-Length: 0"]
        self.send_raw("\r\n".join(lines) + "\r\n\r\n")


def test_unanswered_bye_is_retransmitted_on_timer_e_until_answered(parley_server):
    """Given a call that the server ends (no RTP: media timeout), when the caller does not
    answer the BYE, then the same BYE comes again after about 0.5 s, 1 s and 2 s; once
    answered, no further copy comes."""
    with SilentUA(parley_server.sip_port) as ua, rtp.RtpListener() as listener:
        call = ua.invite("100", sipua.make_sdp(listener.port), timeout=5.0)
        assert call.final is not None and call.final.status == 200
        call.ack()
        first = ua.wait_request("BYE", call.call_id, MEDIA_TIMEOUT_S + 3.0)
        assert first is not None, "no BYE after the media timeout" + parley_server.describe()
        times = [time.monotonic()]
        copies = [first]
        while len(copies) < 4:
            bye = ua.wait_request("BYE", call.call_id, 3.0)
            assert bye is not None, f"only {len(copies)} BYE copies" + parley_server.describe()
            times.append(time.monotonic())
            copies.append(bye)
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert [c.get("via") for c in copies] == [first.get("via")] * 4, [c.get("via") for c in copies]
        assert {c.get("cseq") for c in copies} == {first.get("cseq")}
        # Timer E: 500, 1000, 2000 ms (loose bounds: a shared machine).
        for gap, expected in zip(gaps, (0.5, 1.0, 2.0)):
            assert expected * 0.7 <= gap <= expected + 0.6, gaps
        ua.answer(copies[-1])
        assert ua.wait_request("BYE", call.call_id, 4.5) is None, "BYE retransmitted after its 200"


def test_refused_invite_is_retransmitted_until_its_ack_and_retransmissions_are_absorbed(parley_server):
    """Server side: a 404 to an INVITE over UDP comes again (Timer G: 0.5 s, then 1 s) until
    the ACK, then stops; the retransmitted INVITE gets the same 404 without a second
    `call.refused`."""
    with SilentUA(parley_server.sip_port) as ua:
        call = sipua.Call(ua, "999")
        call.send_invite(sipua.make_sdp(40000))
        first = ua.wait_final(call.call_id, "INVITE", 3.0)
        assert first is not None and first.status == 404, first
        t0 = time.monotonic()
        again = ua.wait_final(call.call_id, "INVITE", 2.0)
        assert again is not None and again.status == 404, "no 404 retransmission (Timer G)" + parley_server.describe()
        assert 0.3 <= time.monotonic() - t0 <= 1.2
        assert sipua.tag_of(again.get("to")) == sipua.tag_of(first.get("to"))
        call.send_invite(sipua.make_sdp(40000))   # the caller's own retransmission
        echoed = ua.wait_final(call.call_id, "INVITE", 1.0)
        assert echoed is not None and echoed.status == 404
        call.final = first
        call.to_tag = sipua.tag_of(first.get("to"))
        call.ack()
        time.sleep(0.1)
        ua.pending.clear()
        assert ua.wait_final(call.call_id, "INVITE", 2.5) is None, "404 retransmitted after the ACK"
    refused = [e for e in parley_server.events() if e.get("event") == "call.refused" and e.get("call_id") == call.call_id]
    assert len(refused) == 1, refused
