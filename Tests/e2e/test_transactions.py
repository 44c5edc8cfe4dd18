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


class TcpPeer:
    """A raw SIP peer on one TCP connection: sends text, reads messages framed by Content-Length."""

    def __init__(self, port: int):
        import socket as _socket
        self.sock = _socket.create_connection(("127.0.0.1", port), timeout=3)
        self.local_port = self.sock.getsockname()[1]
        self.buffer = b""

    def close(self):
        self.sock.close()

    def send(self, text: str):
        self.sock.sendall(text.encode())

    def read(self, timeout: float) -> sipua.SipMessage | None:
        import socket as _socket
        deadline = time.monotonic() + timeout
        while True:
            head, sep, rest = self.buffer.partition(b"\r\n\r\n")
            if sep:
                length = 0
                for line in head.decode(errors="replace").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() in ("content-length", "l"):
                        length = int(value.strip())
                if len(rest) >= length:
                    self.buffer = rest[length:]
                    return sipua.parse_message(head + sep + rest[:length])
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except _socket.timeout:
                return None
            if not chunk:
                return None
            self.buffer += chunk


def test_over_tcp_the_refer_and_bye_come_on_the_call_connection_and_are_not_retransmitted(parley_bin, prompts_dir, tmp_path):
    """A caller on TCP: the REFER (a client transaction over a reliable transport) comes on the
    same connection, once — no Timer E copies while unanswered; after its 202 and a NOTIFY with
    200, the BYE comes on the connection too."""
    from conftest import running_server
    with running_server(parley_bin, tmp_path, prompts_dir, tcp=True,
                        numbers={"100": "{ play: welcome }", "300": '{ transfer: "sip:desk@127.0.0.1:9" }'}) as server, \
            rtp.RtpListener() as listener:
        peer = TcpPeer(server.sip_port)
        try:
            sdp = sipua.make_sdp(listener.port)
            base = [f"Via: SIP/2.0/TCP 127.0.0.1:{peer.local_port};branch=z9hG4bKtcpinv", "Max-Forwards: 70",
                    f"From: <sip:e2e@127.0.0.1:{peer.local_port};transport=tcp>;tag=tcp1",
                    f"To: <sip:300@127.0.0.1:{server.sip_port}>", "Call-ID: tcp-refer@e2e",
                    f"Contact: <sip:e2e@127.0.0.1:{peer.local_port};transport=tcp>"]
            peer.send("\r\n".join([f"INVITE sip:300@127.0.0.1:{server.sip_port};transport=tcp SIP/2.0"] + base +
                                  ["CSeq: 1 INVITE", "Content-Type: application/sdp", f"Content-Length: {len(sdp)}"]) + "\r\n\r\n" + sdp)
            ok = None
            while ok is None or ok.status < 200:
                ok = peer.read(3.0)
                assert ok is not None, "no final response over TCP" + server.describe()
            assert ok.status == 200, ok
            to = ok.get("to")
            ack = [l.replace("branch=z9hG4bKtcpinv", "branch=z9hG4bKtcpack") if l.startswith("Via") else l for l in base]
            ack = [f"To: {to}" if l.startswith("To:") else l for l in ack]
            peer.send("\r\n".join([f"ACK sip:300@127.0.0.1:{server.sip_port};transport=tcp SIP/2.0"] + ack +
                                  ["CSeq: 1 ACK", "Content-Length: 0"]) + "\r\n\r\n")
            refer = peer.read(3.0)
            assert refer is not None and refer.method == "REFER", refer
            assert "TCP" in refer.get("via"), refer.get("via")
            assert peer.read(2.0) is None, "REFER retransmitted over TCP"
            lines = ["SIP/2.0 202 Accepted"] + [f"Via: {v}" for v in refer.get_all("via")]
            lines += [f"From: {refer.get('from')}", f"To: {refer.get('to')}", f"Call-ID: {refer.get('call-id')}",
                      f"CSeq: {refer.get('cseq')}", "Content-Length: 0"]
            peer.send("\r\n".join(lines) + "\r\n\r\n")
            frag = "SIP/2.0 200 OK\r\n"
            notify = [l.replace("branch=z9hG4bKtcpinv", "branch=z9hG4bKtcpntf") if l.startswith("Via") else l for l in base]
            notify = [f"To: {to}" if l.startswith("To:") else l for l in notify]
            peer.send("\r\n".join([f"NOTIFY {ok.get('contact').strip('<>')} SIP/2.0"] + notify +
                                  ["CSeq: 2 NOTIFY", "Event: refer", "Subscription-State: terminated;reason=noresource",
                                   "Content-Type: message/sipfrag", f"Content-Length: {len(frag)}"]) + "\r\n\r\n" + frag)
            got = [peer.read(3.0), peer.read(3.0)]
            assert any(m is not None and m.is_response and m.status == 200 and m.cseq[1] == "NOTIFY" for m in got), got
            bye = next((m for m in got if m is not None and m.method == "BYE"), None)
            assert bye is not None, f"no BYE on the connection: {got}" + server.describe()
        finally:
            peer.close()
    done = [e for e in server.events() if e.get("event") == "call.transferred"]
    assert done and done[0]["status"] == 200, server.events()


def test_200_to_a_reinvite_is_retransmitted_until_its_ack(parley_server):
    """The UAS core keeps the 2xx to a re-INVITE alive too (RFC 3261 §13.3.1.4): without an
    ACK it comes again after about 0.5 s; after the ACK no more copies come."""
    with SilentUA(parley_server.sip_port) as ua, rtp.RtpListener() as listener:
        call = ua.invite("100", sipua.make_sdp(listener.port), timeout=5.0)
        assert call.final is not None and call.final.status == 200
        call.ack()
        call.cseq += 1
        ua.send_raw(ua.request("INVITE", call.remote_target(), call.call_id, call.cseq, call.from_tag,
                               to_tag=call.to_tag, to_uri=call.uri, body=sipua.make_sdp(listener.port)))
        first = ua.wait_final(call.call_id, "INVITE", 3.0)
        assert first is not None and first.status == 200 and first.cseq[0] == call.cseq, first
        t0 = time.monotonic()
        again = ua.wait_final(call.call_id, "INVITE", 2.0)
        assert again is not None and again.cseq == first.cseq, "200 to the re-INVITE not retransmitted" + parley_server.describe()
        assert 0.3 <= time.monotonic() - t0 <= 1.2
        ua.send_raw(ua.request("ACK", call.remote_target(), call.call_id, call.cseq, call.from_tag,
                               to_tag=call.to_tag, to_uri=call.uri))
        time.sleep(0.1)
        ua.pending.clear()
        assert ua.wait_final(call.call_id, "INVITE", 2.5) is None, "200 retransmitted after the ACK"
    # (No RTP is sent here, so the media timeout may end the call; the ACK must not.)
    causes = [e.get("cause") for e in parley_server.call_events(call.call_id) if e["event"] == "call.ended"]
    assert "no-ack" not in causes, causes
