"""Message-waiting indication (RFC 3842 over RFC 6665): SUBSCRIBE to a tenant's mailbox gets
200 and a NOTIFY with the summary; refresh and unsubscribe; other events get 489; a
configured target gets an unsolicited NOTIFY. Real UDP subscribers: a raw UA and SIPp."""
from __future__ import annotations

import contextlib
import socket
import time

import pytest

import sipua
from conftest import running_server

MAILBOX_NUMBERS = {"100": "{ play: welcome }", "1001": "{ play: welcome }"}


def parse_summary(body: bytes) -> dict:
    out = {}
    for line in body.decode().split("\r\n"):
        if ":" in line:
            k, v = line.split(":", 1)
            out[k.strip().lower()] = v.strip()
    return out


def subscribe(ua, uri, call_id, cseq, from_tag, to_tag=None, expires=600, event="message-summary"):
    ua.send_raw(ua.request("SUBSCRIBE", uri, call_id, cseq, from_tag, to_tag=to_tag,
                           extra=[f"Event: {event}", f"Expires: {expires}",
                                  "Accept: application/simple-message-summary"]))
    return ua.wait_final(call_id, "SUBSCRIBE", 3.0)


@pytest.fixture
def mwi_server(parley_bin, prompts_dir, tmp_path):
    with running_server(parley_bin, tmp_path, prompts_dir, numbers=MAILBOX_NUMBERS) as server:
        yield server


def test_subscribe_gets_200_and_a_notify_with_the_summary_then_refresh_and_unsubscribe(mwi_server):
    """Given mailbox 1001 of the demo tenant: SUBSCRIBE (Expires 600) → 200 with a To tag and
    Expires 600, then a NOTIFY in that dialog (tags swapped, Event message-summary,
    Subscription-State active with expires ≤ 600, the RFC 3842 body for an empty mailbox);
    a refresh in the dialog → 200 and another NOTIFY; Expires 0 → 200 and a NOTIFY with
    Subscription-State terminated."""
    with sipua.SipUA(mwi_server.sip_port) as ua:
        uri = f"sip:1001@127.0.0.1:{mwi_server.sip_port}"
        call_id, from_tag = sipua._rand(16) + "@e2e", sipua._rand()
        ok = subscribe(ua, uri, call_id, 1, from_tag)
        assert ok is not None and ok.status == 200, f"{ok}{mwi_server.describe()}"
        to_tag = sipua.tag_of(ok.get("to"))
        assert to_tag and ok.get("expires") == "600", ok
        notify = ua.wait_request("NOTIFY", call_id, 3.0)
        assert notify is not None, "no NOTIFY after the 200" + mwi_server.describe()
        assert notify.start_line.startswith(f"NOTIFY sip:e2e@127.0.0.1:{ua.local_port} "), notify.start_line
        assert sipua.tag_of(notify.get("from")) == to_tag and sipua.tag_of(notify.get("to")) == from_tag, notify
        assert notify.get("event") == "message-summary", notify
        state = notify.get("subscription-state")
        assert state.startswith("active;expires="), state
        assert 590 <= int(state.split("=")[1]) <= 600, state
        assert notify.get("content-type") == "application/simple-message-summary", notify
        summary = parse_summary(notify.body)
        assert summary["messages-waiting"] == "no" and summary["voice-message"] == "0/0 (0/0)", summary
        assert summary["message-account"] == "sip:1001@127.0.0.1", summary
        first_cseq = notify.cseq[0]

        ok = subscribe(ua, uri, call_id, 2, from_tag, to_tag=to_tag, expires=300)
        assert ok is not None and ok.status == 200 and ok.get("expires") == "300", ok
        again = ua.wait_request("NOTIFY", call_id, 3.0)
        assert again is not None and again.cseq[0] == first_cseq + 1, again
        assert again.get("subscription-state").startswith("active;expires="), again

        ok = subscribe(ua, uri, call_id, 3, from_tag, to_tag=to_tag, expires=0)
        assert ok is not None and ok.status == 200 and ok.get("expires") == "0", ok
        last = ua.wait_request("NOTIFY", call_id, 3.0)
        assert last is not None and last.get("subscription-state").startswith("terminated"), last
        # The subscription is gone: a refresh now matches nothing.
        gone = subscribe(ua, uri, call_id, 4, from_tag, to_tag=to_tag)
        assert gone is not None and gone.status == 481, gone


def test_subscribe_errors(mwi_server):
    """Another event package → 489 with Allow-Events; an unknown mailbox → 404; Expires below
    our minimum → 423 with Min-Expires; a refresh for an unknown dialog → 481."""
    with sipua.SipUA(mwi_server.sip_port) as ua:
        uri = f"sip:1001@127.0.0.1:{mwi_server.sip_port}"
        r = subscribe(ua, uri, sipua._rand() + "@e2e", 1, sipua._rand(), event="presence")
        assert r is not None and r.status == 489 and r.get("allow-events") == "message-summary", r
        r = subscribe(ua, f"sip:7777@127.0.0.1:{mwi_server.sip_port}", sipua._rand() + "@e2e", 1, sipua._rand())
        assert r is not None and r.status == 404, r
        r = subscribe(ua, uri, sipua._rand() + "@e2e", 1, sipua._rand(), expires=10)
        assert r is not None and r.status == 423 and r.get("min-expires") == "60", r
        r = subscribe(ua, uri, sipua._rand() + "@e2e", 1, sipua._rand(), to_tag="nosuch")
        assert r is not None and r.status == 481, r
        assert ua.wait_request("NOTIFY", None, 0.5) is None


def test_configured_target_gets_an_unsolicited_notify(parley_bin, prompts_dir, tmp_path):
    """Given `mwi: { "1001": sip:1001@127.0.0.1:PORT }`, the target (a phone that never
    subscribes) gets a NOTIFY with Event message-summary and the summary when the server
    starts; its 200 ends the transaction (no retransmission after it)."""
    phone = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    phone.bind(("127.0.0.1", 0))
    phone.settimeout(5.0)
    port = phone.getsockname()[1]
    try:
        with running_server(parley_bin, tmp_path, prompts_dir, numbers=MAILBOX_NUMBERS,
                            tenant_extra=f'    mwi: {{ "1001": "sip:1001@127.0.0.1:{port}" }}\n') as server:
            data, peer = phone.recvfrom(65535)
            notify = sipua.parse_message(data)
            assert notify.start_line == f"NOTIFY sip:1001@127.0.0.1:{port} SIP/2.0", notify.start_line
            assert notify.get("event") == "message-summary" and notify.get("to") == f"<sip:1001@127.0.0.1:{port}>", notify
            summary = parse_summary(notify.body)
            assert summary["messages-waiting"] == "no" and summary["voice-message"] == "0/0 (0/0)", summary
            assert peer[1] == server.sip_port
            lines = ["SIP/2.0 200 OK"] + [f"Via: {v}" for v in notify.get_all("via")]
            lines += [f"From: {notify.get('from')}", f"To: {notify.get('to')};tag=phone",
                      f"Call-ID: {notify.get('call-id')}", f"CSeq: {notify.get('cseq')}", "Content-Length: 0"]
            phone.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), peer)
            # Retransmissions sent before our 200 arrived (Timer E fires at 0.5 s, and the
            # NOTIFY may have waited in the socket while the server started) are drained first;
            # after that nothing may come for longer than the largest interval (T2 = 4 s).
            time.sleep(0.3)
            phone.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                while True:
                    phone.recvfrom(65535)
            phone.setblocking(True)
            phone.settimeout(4.5)
            with pytest.raises(socket.timeout):
                extra, _ = phone.recvfrom(65535)
                pytest.fail(f"NOTIFY retransmitted after its 200: {extra[:80]!r}")
    finally:
        phone.close()


def test_sipp_subscribes_gets_the_summary_and_unsubscribes(mwi_server, sipp_bin, tmp_path):
    """SIPp as the subscriber: 200 with Expires 600, a NOTIFY with the RFC 3842 body, then
    Expires: 0 and the terminated NOTIFY (every check is a check_it regexp in the scenario)."""
    from conftest import Sipp
    res = Sipp(sipp_bin, mwi_server, tmp_path).run("uac_subscribe_mwi.xml", service="1001", timeout=15.0)
    assert res.returncode == 0, res.describe() + mwi_server.describe()


def test_shutdown_ends_subscriptions_with_a_terminated_notify(parley_bin, prompts_dir, tmp_path):
    """When the server stops, each subscriber gets a NOTIFY with Subscription-State
    terminated;reason=deactivated (RFC 6665 §4.2.2), so it can subscribe again later."""
    ua = None
    try:
        with running_server(parley_bin, tmp_path, prompts_dir, numbers=MAILBOX_NUMBERS) as server:
            ua = sipua.SipUA(server.sip_port)
            call_id, from_tag = sipua._rand(16) + "@e2e", sipua._rand()
            ok = subscribe(ua, f"sip:1001@127.0.0.1:{server.sip_port}", call_id, 1, from_tag)
            assert ok is not None and ok.status == 200, ok
            assert ua.wait_request("NOTIFY", call_id, 3.0) is not None
        last = ua.wait_request("NOTIFY", call_id, 2.0)
        assert last is not None, "no NOTIFY at shutdown"
        assert last.get("subscription-state") == "terminated;reason=deactivated", last
    finally:
        if ua is not None:
            ua.close()
