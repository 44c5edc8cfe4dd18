"""Blind transfer by REFER (RFC 3515): Parley refers the caller to a number's `transfer:`
target and follows the NOTIFY sipfrag. The transferee is PJSIP (pjsua2), which really places
the new call; the target is a small UDP UAS in the test that answers 200 or 486. A raw UA
checks the REFER itself and the NOTIFY answers."""
from __future__ import annotations

import socket
import time

import pytest

import sipua
import rtp
from conftest import free_udp_port, running_server
from test_pjsua2 import account_config, pj, pump, start_endpoint


class TargetUAS:
    """The refer target: answers every INVITE with `status` (200 with SDP, or a refusal),
    BYE with 200, and records what it received."""

    def __init__(self, status: int):
        self.status = status
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.received: list[sipua.SipMessage] = []

    def close(self):
        self.sock.close()

    def requests(self, method: str) -> list[sipua.SipMessage]:
        return [m for m in self.received if not m.is_response and m.method == method]

    def poll(self):
        while True:
            try:
                data, peer = self.sock.recvfrom(65535)
            except BlockingIOError:
                return
            msg = sipua.parse_message(data)
            self.received.append(msg)
            if msg.is_response or msg.method == "ACK":
                continue
            status, reason, body = 200, "OK", ""
            if msg.method == "INVITE":
                if self.status != 200:
                    status, reason = self.status, "Busy Here"
                else:
                    body = sipua.make_sdp(free_udp_port(), (0, 8, 101))
            lines = [f"SIP/2.0 {status} {reason}"] + [f"Via: {v}" for v in msg.get_all("via")]
            to = msg.get("to") or ""
            if sipua.tag_of(to) is None:
                to += ";tag=target1"
            lines += [f"From: {msg.get('from')}", f"To: {to}", f"Call-ID: {msg.get('call-id')}",
                      f"CSeq: {msg.get('cseq')}", f"Contact: <sip:target@127.0.0.1:{self.port}>"]
            if body:
                lines.append("Content-Type: application/sdp")
            lines.append(f"Content-Length: {len(body)}")
            self.sock.sendto(("\r\n".join(lines) + "\r\n\r\n" + body).encode(), peer)


class Transferee(pj.Call):
    """The caller: accepts the REFER (pjsua2 answers 202 and calls the target itself)."""

    def __init__(self, account, calls: list):
        super().__init__(account)
        self.account = account
        self.calls = calls
        self.states: list[str] = []
        self.transfer_requests: list[str] = []

    def onCallState(self, prm):
        self.states.append(self.getInfo().stateText)

    def onCallTransferRequest(self, prm):
        self.transfer_requests.append(prm.dstUri)
        new_call = Transferee(self.account, self.calls)
        self.calls.append(new_call)   # keep the Python object alive
        prm.newCall = new_call


def run_transfer(server, target: TargetUAS, settle):
    """Calls number 300 from pjsua2 and pumps until `settle(call, events)` is true (or 10 s).
    Returns (settled, call states, REFER targets pjsua2 saw, the event log at that moment)."""
    ep = pj.Endpoint()
    ep.libCreate()
    calls: list = []
    try:
        start_endpoint(ep)
        acfg = account_config("sip:pjsua2@127.0.0.1")
        account = pj.Account()
        account.create(acfg)
        call = Transferee(account, calls)
        call.makeCall(f"sip:300@127.0.0.1:{server.sip_port}", pj.CallOpParam(True))

        def done():
            target.poll()
            return settle(call, server.events())

        settled = pump(ep, 10.0, done)
        result = (settled, list(call.states), list(call.transfer_requests), server.events())
        for c in [call] + calls:
            try:
                c.hangup(pj.CallOpParam())
            except Exception:
                pass
        pump(ep, 1.0, lambda: (target.poll(), False)[1])
        del call
        calls.clear()
        account.shutdown()
        return result
    finally:
        ep.libDestroy()


def disconnected(states) -> bool:
    return any(s.startswith("DISCONN") for s in states)


def named(events, name):
    return [e for e in events if e.get("event") == name]


def test_pjsua2_caller_is_transferred_to_the_target_and_we_hang_up(parley_bin, prompts_dir, tmp_path):
    """Given number 300 whose target is `transfer: sip:...`, when pjsua2 calls it, then Parley
    REFERs pjsua2 to the target, pjsua2 calls the target (the INVITE reaches it), its NOTIFY
    sipfrag reports 200, Parley reports the transfer as done and ends its side with BYE."""
    target = TargetUAS(200)
    uri = f"sip:sales@127.0.0.1:{target.port}"
    try:
        with running_server(parley_bin, tmp_path, prompts_dir,
                            numbers={"100": "{ play: welcome }", "300": f'{{ transfer: "{uri}" }}'}) as server:
            settled, states, requests, events = run_transfer(
                server, target, lambda call, ev: bool(named(ev, "call.ended")) and disconnected(call.states))
            assert settled, f"states {states}, target got {[m.start_line for m in target.received]}{server.describe()}"
    finally:
        target.close()
    assert requests == [f"<{uri}>"], requests
    invites = target.requests("INVITE")
    assert invites and invites[0].start_line.startswith(f"INVITE {uri} "), [m.start_line for m in target.received]
    assert target.requests("ACK"), "the transferee never confirmed its call to the target"
    transfer = named(events, "call.transfer")
    assert transfer and transfer[0]["target"] == uri, transfer
    done = named(events, "call.transferred")
    assert done and done[0]["status"] == 200, events
    assert not named(events, "call.transfer_failed"), events
    ended = named(events, "call.ended")
    assert ended[0]["cause"] == "transferred", ended
    assert disconnected(states) and "CONFIRMED" in states, states


def test_pjsua2_transfer_to_a_busy_target_fails_and_the_call_stays_up(parley_bin, prompts_dir, tmp_path):
    """Given a target that answers 486, then the NOTIFY sipfrag carries 486, Parley reports
    `call.transfer_failed` with status 486 and keeps the call: no BYE, no call.ended while the
    caller stays on the line."""
    target = TargetUAS(486)
    uri = f"sip:busy@127.0.0.1:{target.port}"
    try:
        with running_server(parley_bin, tmp_path, prompts_dir,
                            numbers={"100": "{ play: welcome }", "300": f'{{ transfer: "{uri}" }}'}) as server:
            def failed_and_settled(call, ev):
                failed = named(ev, "call.transfer_failed")
                if not failed:
                    return False
                failed_and_settled.seen = failed_and_settled.seen or time.monotonic()
                return time.monotonic() - failed_and_settled.seen > 1.5   # long enough for a wrong BYE to arrive
            failed_and_settled.seen = None
            settled, states, requests, events = run_transfer(server, target, failed_and_settled)
            assert settled, f"states {states}{server.describe()}"
            ended = server.wait_event(lambda e: e.get("event") == "call.ended", 3.0)
    finally:
        target.close()
    assert requests == [f"<{uri}>"], requests
    assert target.requests("INVITE"), "the transferee never called the target"
    failed = named(events, "call.transfer_failed")
    assert failed[0]["status"] == 486 and failed[0]["target"] == uri, failed
    assert failed[0]["reason"] == "transfer target answered 486 Busy Here", failed
    assert not named(events, "call.transferred"), events
    assert not named(events, "call.ended"), f"the call ended after a failed transfer: {events}"
    assert states[-1] == "CONFIRMED" and not disconnected(states), states
    # Our hang-up at the end is what ends it.
    assert ended is not None and ended["cause"] == "bye", ended


def call_until_refer(server, ua, listener):
    """A raw caller dials number 300 and waits for the server's REFER."""
    call = ua.invite("300", sipua.make_sdp(listener.port), timeout=5.0)
    assert call.final is not None and call.final.status == 200
    call.ack()
    refer = ua.wait_request("REFER", call.call_id, 3.0)
    assert refer is not None, "no REFER" + server.describe()
    return call, refer


def send_notify(ua, call, body, state, event="refer"):
    """A NOTIFY of the REFER's subscription from the raw transferee; returns the final response."""
    call.cseq += 1
    ua.send_raw(ua.request("NOTIFY", call.remote_target(), call.call_id, call.cseq, call.from_tag,
                           to_tag=call.to_tag, to_uri=call.uri, body=body, content_type="message/sipfrag;version=2.0",
                           extra=[f"Event: {event}", f"Subscription-State: {state}"]))
    return ua.wait_final(call.call_id, "NOTIFY", 3.0)


def test_refer_is_sent_in_the_dialog_and_each_notify_is_answered(parley_bin, prompts_dir, tmp_path):
    """A raw transferee: the REFER comes in the call's dialog (tags swapped, Refer-To the
    target, Referred-By us, Event refer); each NOTIFY gets 200; 100 in the sipfrag is only
    progress, 603 fails the transfer; a NOTIFY for another event gets 481."""
    uri = "sip:nobody@127.0.0.1:9"
    with running_server(parley_bin, tmp_path, prompts_dir,
                        numbers={"100": "{ play: welcome }", "300": f'{{ transfer: "<{uri}>" }}'}) as server, \
            sipua.SipUA(server.sip_port) as ua, rtp.RtpListener() as listener:
        call, refer = call_until_refer(server, ua, listener)
        assert sipua.tag_of(refer.get("from")) == call.to_tag and sipua.tag_of(refer.get("to")) == call.from_tag, refer
        assert refer.get("refer-to") == f"<{uri}>", refer
        assert "sip:300@127.0.0.1" in (refer.get("referred-by") or ""), refer
        assert refer.start_line.startswith(f"REFER sip:e2e@127.0.0.1:{ua.local_port} "), refer.start_line
        assert refer.cseq[1] == "REFER" and refer.get("contact"), refer

        def notify(body, state, event="refer"):
            return send_notify(ua, call, body, state, event)

        r = notify("SIP/2.0 100 Trying\r\n", "active;expires=60")
        assert r is not None and r.status == 200, r
        time.sleep(0.3)
        assert not [e for e in server.call_events(call.call_id) if e["event"].startswith("call.transfer")
                    and e["event"] != "call.transfer"], server.events()
        r = notify("SIP/2.0 100 Trying\r\n", "active", event="dialog")
        assert r is not None and r.status == 481, r
        r = notify("SIP/2.0 603 Declined\r\n", "terminated;reason=noresource")
        assert r is not None and r.status == 200, r
        failed = server.wait_event(lambda e: e.get("event") == "call.transfer_failed", 2.0)
        assert failed is not None and failed["status"] == 603, server.events()
        time.sleep(0.5)
        assert ua.wait_request("BYE", call.call_id, 0.1) is None, "BYE after a failed transfer"
        assert call.bye().status == 200


def test_transfer_without_final_notify_fails_after_the_timeout_and_the_call_stays(parley_bin, prompts_dir, tmp_path):
    """Given `sip.transfer_timeout: 2s` and a transferee that accepts the REFER but reports
    only 100 Trying, then after 2 s the transfer fails without a status (the reason names the
    last progress) and the call stays up."""
    with running_server(parley_bin, tmp_path, prompts_dir, sip_extra="  transfer_timeout: 2s\n",
                        numbers={"100": "{ play: welcome }", "300": '{ transfer: "sip:slow@127.0.0.1:9" }'}) as server, \
            sipua.SipUA(server.sip_port) as ua, rtp.RtpListener() as listener:
        call, _ = call_until_refer(server, ua, listener)
        t0 = time.monotonic()
        assert send_notify(ua, call, "SIP/2.0 100 Trying\r\n", "active;expires=60").status == 200
        failed = server.wait_event(lambda e: e.get("event") == "call.transfer_failed", 4.0)
        waited = time.monotonic() - t0
        assert failed is not None, server.describe()
        assert "status" not in failed and failed["reason"] == "no final NOTIFY in time (last progress 100)", failed
        assert 1.5 <= waited <= 3.5, waited
        n = listener.count()
        time.sleep(0.5)
        assert listener.count() > n + 10, "media stopped after the failed transfer"
        assert ua.wait_request("BYE", call.call_id, 0.1) is None
        assert call.bye().status == 200
