"""With `sip.auth` on, requests inside a call that change it (re-INVITE, UPDATE, INFO, REFER,
NOTIFY) pass the same digest check as the INVITE, by the same user; message-waiting
SUBSCRIBE is admitted like an INVITE, its NOTIFYs go where its requests came from (never to
a Contact a stranger chose), and one source cannot take the whole subscription table
(issue 16)."""
from __future__ import annotations

import socket
import time

import pytest

import digest
import rtp
import sipua
from conftest import running_server

REALM = "parley.test"
USERS = {"alice": "wonder-land-7", "bob": "builder-of-9"}


def auth_yaml() -> str:
    """Trusted networks that exclude 127.0.0.1, so every request from the tests is challenged."""
    lines = ["  trusted: [\"10.0.0.0/8\"]", "  auth:", f"    realm: {REALM}", "    users:"]
    lines += [f"      {u}: {{ password_env: PARLEY_E2E_PW_{u.upper()}, tenants: [demo] }}" for u in USERS]
    return "\n".join(lines) + "\n"


@pytest.fixture
def auth_server(parley_bin, prompts_dir, tmp_path, monkeypatch):
    for user, password in USERS.items():
        monkeypatch.setenv(f"PARLEY_E2E_PW_{user.upper()}", password)
    with running_server(parley_bin, tmp_path, prompts_dir, sip_extra=auth_yaml(),
                        numbers={"100": "{ play: welcome }", "1001": "{ play: welcome }"}) as server:
        yield server


def answer_challenge(challenge, method, uri, user, nc=1):
    return "Authorization: " + digest.authorization(challenge, method, uri, user, USERS[user], nc=nc)


def test_in_dialog_requests_need_the_callers_credentials(auth_server):
    """Given a call authenticated as alice: an INFO without credentials gets 401 and reports
    no key; with alice's credentials it gets 200 and the key is reported; with bob's valid
    credentials it gets 403; a re-INVITE without credentials gets 401 and changes nothing."""
    with sipua.SipUA(auth_server.sip_port) as ua, rtp.RtpListener() as listener:
        call = sipua.Call(ua, "100")
        sdp = sipua.make_sdp(listener.port, (0, 101))
        call.send_invite(sdp)
        first = ua.wait_final(call.call_id, "INVITE", 3.0)
        assert first is not None and first.status == 401, f"INVITE without credentials: {first}{auth_server.describe()}"
        call.to_tag = sipua.tag_of(first.get("to"))
        call.ack()
        call.cseq += 1
        call.invite_branch = "z9hG4bK" + sipua._rand(12)
        auth = answer_challenge(first.get_all("www-authenticate")[0], "INVITE", call.uri, "alice")
        ua.send_raw(ua.request("INVITE", call.uri, call.call_id, call.cseq, call.from_tag, body=sdp,
                               branch=call.invite_branch, extra=[auth]))
        call.final = ua.wait_final(call.call_id, "INVITE", 5.0)
        assert call.final is not None and call.final.status == 200, f"authenticated INVITE: {call.final}{auth_server.describe()}"
        call.to_tag = sipua.tag_of(call.final.get("to"))
        call.ack()
        assert listener.wait_for(5, 3.0), "no RTP after the authenticated INVITE" + auth_server.describe()
        target = call.remote_target()

        def info(cseq, digit, extra):
            ua.send_raw(ua.request("INFO", target, call.call_id, cseq, call.from_tag, to_tag=call.to_tag, to_uri=call.uri,
                                   body=f"Signal={digit}\r\nDuration=160\r\n", content_type="application/dtmf-relay",
                                   extra=extra))
            return ua.wait_final(call.call_id, "INFO", 3.0)

        r = info(10, "4", [])
        assert r is not None and r.status == 401, f"INFO without credentials: {r}{auth_server.describe()}"
        assert sipua.tag_of(r.get("to")) == call.to_tag, f"the 401 is in the dialog: {r}"
        challenge = r.get_all("www-authenticate")[0]
        r = info(11, "5", [answer_challenge(challenge, "INFO", target, "bob")])
        assert r is not None and r.status == 403, f"INFO with bob's credentials in alice's call: {r}"
        r = info(12, "6", [answer_challenge(challenge, "INFO", target, "alice", nc=2)])  # nc 1 went with bob's
        assert r is not None and r.status == 200, f"INFO with alice's credentials: {r}{auth_server.describe()}"
        assert auth_server.wait_event(lambda e: e.get("call_id") == call.call_id and e.get("event") == "dtmf", 2.0)

        ua.send_raw(ua.request("INVITE", target, call.call_id, 13, call.from_tag, to_tag=call.to_tag, to_uri=call.uri,
                               body=sipua.make_sdp(listener.port, (0, 101)).replace("a=sendrecv", "a=sendonly")))
        r = ua.wait_final(call.call_id, "INVITE", 3.0)
        assert r is not None and r.status == 401, f"re-INVITE without credentials: {r}{auth_server.describe()}"
        time.sleep(0.3)
        held = [e for e in auth_server.call_events(call.call_id) if e["event"] == "call.held"]
        assert held == [], f"an unauthenticated re-INVITE put the call on hold: {held}"
        call.cseq = 14
        ua.send_raw(ua.request("BYE", target, call.call_id, 14, call.from_tag, to_tag=call.to_tag, to_uri=call.uri))
        r = ua.wait_final(call.call_id, "BYE", 3.0)
        assert r is not None and r.status == 200, f"the caller's BYE (ends, never challenged): {r}"
    dtmf = [e["digit"] for e in auth_server.call_events(call.call_id) if e["event"] == "dtmf"]
    assert dtmf == ["6"], f"only the authenticated INFO's key is reported: {dtmf}"


def subscribe_request(ua, uri, call_id, cseq, from_tag, to_tag=None, expires=600, extra=(), contact=None):
    text = ua.request("SUBSCRIBE", uri, call_id, cseq, from_tag, to_tag=to_tag,
                      extra=["Event: message-summary", f"Expires: {expires}", "Accept: application/simple-message-summary",
                             *extra])
    if contact is not None:
        text = text.replace(f"Contact: <sip:e2e@{ua.local_host}:{ua.local_port}>", f"Contact: <{contact}>")
    return text


def test_subscribe_is_authenticated_and_notify_goes_to_the_subscriber_not_its_contact(auth_server):
    """Given sip.auth: a SUBSCRIBE without credentials gets 401 and no NOTIFY; with alice's
    credentials and a Contact naming another socket (a third party), it gets 200, and the
    NOTIFY comes to the socket the SUBSCRIBE came from; the third party gets nothing. A
    refresh from another address (outside sip.trusted) gets 403."""
    victim = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    victim.bind(("127.0.0.1", 0))
    victim.settimeout(1.5)
    victim_uri = f"sip:victim@127.0.0.1:{victim.getsockname()[1]}"
    try:
        with sipua.SipUA(auth_server.sip_port) as ua:
            uri = f"sip:1001@127.0.0.1:{auth_server.sip_port}"
            call_id, from_tag = sipua._rand(16) + "@e2e", sipua._rand()
            ua.send_raw(subscribe_request(ua, uri, call_id, 1, from_tag, contact=victim_uri))
            r = ua.wait_final(call_id, "SUBSCRIBE", 3.0)
            assert r is not None and r.status == 401, f"SUBSCRIBE without credentials: {r}{auth_server.describe()}"
            challenge = r.get_all("www-authenticate")[0]
            auth = answer_challenge(challenge, "SUBSCRIBE", uri, "alice")
            ua.send_raw(subscribe_request(ua, uri, call_id, 2, from_tag, extra=[auth], contact=victim_uri))
            ok = ua.wait_final(call_id, "SUBSCRIBE", 3.0)
            assert ok is not None and ok.status == 200, f"authenticated SUBSCRIBE: {ok}{auth_server.describe()}"
            notify = ua.wait_request("NOTIFY", call_id, 3.0)
            assert notify is not None, "no NOTIFY to the subscriber's own address" + auth_server.describe()
            assert notify.start_line.startswith(f"NOTIFY {victim_uri} "), notify.start_line
            with pytest.raises(socket.timeout):
                data, _ = victim.recvfrom(65535)
                pytest.fail(f"the Contact's socket got a NOTIFY: {data[:200]!r}")

            # The stranger even holds valid credentials (a fresh nc): the subscription is not its.
            to_tag = sipua.tag_of(ok.get("to"))
            with sipua.SipUA(auth_server.sip_port, local_host="127.0.0.66") as stranger:
                stranger.send_raw(subscribe_request(stranger, uri, call_id, 3, from_tag, to_tag=to_tag,
                                                    extra=[answer_challenge(challenge, "SUBSCRIBE", uri, "alice", nc=2)]))
                r = stranger.wait_final(call_id, "SUBSCRIBE", 3.0)
                assert r is not None and r.status == 403, f"refresh from a stranger: {r}{auth_server.describe()}"
    finally:
        victim.close()


def test_one_source_cannot_take_the_subscription_table(parley_bin, prompts_dir, tmp_path):
    """Given a trusted source: 64 subscriptions from it are granted, the 65th gets 503 with
    Retry-After and a Warning, and another source still subscribes."""
    with running_server(parley_bin, tmp_path, prompts_dir, numbers={"100": "{ play: welcome }", "1001": "{ play: welcome }"}) as server:
        uri = f"sip:1001@127.0.0.1:{server.sip_port}"
        with sipua.SipUA(server.sip_port) as ua:
            for i in range(64):
                call_id = sipua._rand(16) + "@e2e"
                ua.send_raw(subscribe_request(ua, uri, call_id, 1, sipua._rand()))
                r = ua.wait_final(call_id, "SUBSCRIBE", 3.0)
                assert r is not None and r.status == 200, f"subscription {i + 1}: {r}{server.describe()}"
            call_id = sipua._rand(16) + "@e2e"
            ua.send_raw(subscribe_request(ua, uri, call_id, 1, sipua._rand()))
            r = ua.wait_final(call_id, "SUBSCRIBE", 3.0)
            assert r is not None and r.status == 503, f"the 65th subscription from one source: {r}{server.describe()}"
            assert r.get("retry-after") and "too many subscriptions" in (r.get("warning") or ""), r
        with sipua.SipUA(server.sip_port, local_host="127.0.0.2") as other:
            call_id = sipua._rand(16) + "@e2e"
            other.send_raw(subscribe_request(other, uri, call_id, 1, sipua._rand()))
            r = other.wait_final(call_id, "SUBSCRIBE", 3.0)
            assert r is not None and r.status == 200, f"another source: {r}{server.describe()}"
