"""Digest authentication (RFC 3261 §22, RFC 8760): INVITEs from outside the trusted networks
are challenged; SIPp (MD5) and PJSIP (SHA-256) answer the challenge and their calls carry
media; wrong credentials get 403; no credentials get 401."""
from __future__ import annotations

import re
import time

import pytest

import rtp
import sipua
from conftest import Sipp, running_server

try:
    import pjsua2 as pj
except ImportError as error:  # a missing peer is a failure, not a skip
    raise ImportError("pjsua2 is missing: run the suite through scripts/test, which installs PyPI "
                      "pjsua2-python into .venv-e2e") from error
from test_pjsua2 import Call, account_config, pump, start_endpoint  # noqa: E402

REALM = "parley.test"
USER = "alice"
PASSWORD = "wonder-land-7"
WRONG = "not-her-password"
PASSWORD_ENV = "PARLEY_E2E_ALICE_PW"


def auth_yaml(algorithms: str | None = None) -> str:
    """Trusted networks that exclude 127.0.0.1, so every test call must authenticate."""
    return ("  trusted: [\"10.0.0.0/8\"]\n"
            "  auth:\n"
            f"    realm: {REALM}\n"
            + (f"    algorithms: {algorithms}\n" if algorithms else "") +
            "    users:\n"
            f"      {USER}: {{ password_env: {PASSWORD_ENV}, tenants: [demo] }}\n")


@pytest.fixture
def auth_server(parley_bin, prompts_dir, tmp_path, monkeypatch):
    """Default algorithms: SHA-256 offered first, then MD5. UDP and TCP."""
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    with running_server(parley_bin, tmp_path, prompts_dir, tcp=True, sip_extra=auth_yaml()) as server:
        yield server


@pytest.fixture
def md5_server(parley_bin, prompts_dir, tmp_path, monkeypatch):
    """MD5 only: SIPp 3.6 reads only the first challenge and knows only MD5."""
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    with running_server(parley_bin, tmp_path, prompts_dir, tcp=True, sip_extra=auth_yaml("[MD5]")) as server:
        yield server


def events_named(server, name):
    return [e for e in server.events() if e.get("event") == name]


def check_media(server, call_id=None):
    ended = server.wait_event(lambda e: e.get("event") == "call.ended" and (call_id is None or e.get("call_id") == call_id), 5.0)
    assert ended is not None, "no call.ended" + server.describe()
    assert ended.get("cause") == "bye", ended
    assert ended.get("rtp_in", 0) > 20 and ended.get("rtp_out", 0) > 20, f"media did not flow both ways: {ended}"
    return ended


def test_an_invite_without_credentials_gets_401_with_sha256_then_md5(auth_server):
    """Given sip.auth and a source outside the trusted networks, an INVITE without
    Authorization gets 401 with two challenges, SHA-256 first, each with its own nonce and
    qop=auth; no call is set up. OPTIONS needs no authentication."""
    with sipua.SipUA(auth_server.sip_port) as ua, rtp.RtpListener() as listener:
        call = ua.invite("100", sipua.make_sdp(listener.port), timeout=3.0)
        assert call.final is not None and call.final.status == 401, call.final
        challenges = call.final.get_all("www-authenticate")
        assert len(challenges) == 2, challenges
        assert re.search(r"algorithm=SHA-256", challenges[0]) and re.search(r"algorithm=MD5", challenges[1]), challenges
        nonces = [re.search(r'nonce="([^"]+)"', c).group(1) for c in challenges]
        assert len(set(nonces)) == 2, nonces
        for c in challenges:
            assert c.startswith("Digest ") and f'realm="{REALM}"' in c and 'qop="auth"' in c and "stale" not in c, c
        options = ua.options()
        assert options is not None and options.status == 200
    refused = events_named(auth_server, "call.refused")
    assert [e.get("status") for e in refused] == [401], refused
    assert not events_named(auth_server, "call.received")


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_sipp_answers_the_md5_challenge_and_the_call_carries_media(md5_server, sipp_bin, tmp_path, transport):
    """SIPp (-au/-ap, [authentication]) answers the 401 from a non-trusted configuration;
    the second INVITE is admitted, PCMA flows both ways and the BYE ends the call."""
    sipp = Sipp(sipp_bin, md5_server, tmp_path)
    port = md5_server.sip_port
    extra = ["-au", USER, "-ap", PASSWORD, "-auth_uri", f"100@127.0.0.1:{port}"]
    if transport == "tcp":
        extra += ["-t", "t1"]
    res = sipp.run("uac_auth.xml", extra=extra, timeout=20)
    assert res.returncode == 0, "SIPp authenticated call failed" + res.describe() + md5_server.describe()
    assert [e.get("status") for e in events_named(md5_server, "call.refused")] == [401]
    answered = events_named(md5_server, "call.answered")
    assert len(answered) == 1 and answered[0].get("codec") == "PCMA", answered
    check_media(md5_server)
    log = md5_server.stderr
    assert re.search(r"algorithm=MD5 .*user=alice.* INVITE authenticated", log), md5_server.stderr_tail()


def test_sipp_with_a_wrong_password_gets_403_and_the_log_names_source_and_user(md5_server, sipp_bin, tmp_path):
    sipp = Sipp(sipp_bin, md5_server, tmp_path)
    port = md5_server.sip_port
    res = sipp.run("uac_auth_refused.xml", extra=["-au", USER, "-ap", WRONG, "-auth_uri", f"100@127.0.0.1:{port}"], timeout=15)
    assert res.returncode == 0, "SIPp expected 401 then 403" + res.describe() + md5_server.describe()
    # The event log writes off the SIP loop: the 403 can reach SIPp before its line is on disk.
    md5_server.wait_event(lambda e: e.get("event") == "call.refused" and e.get("status") == 403, 3.0)
    refused = events_named(md5_server, "call.refused")
    assert [e.get("status") for e in refused] == [401, 403], refused
    assert "wrong credentials for user 'alice' from 127.0.0.1" in refused[1].get("reason", ""), refused
    time.sleep(0.2)
    log = md5_server.stderr
    assert "wrong credentials for user 'alice' from 127.0.0.1" in log, md5_server.stderr_tail()
    assert WRONG not in log and PASSWORD not in log, "a password reached the log"
    assert not events_named(md5_server, "call.answered")


# ---------------------------------------------------------------------------
# PJSIP
# ---------------------------------------------------------------------------


def pjsua_call(server, password: str, talk_seconds: float = 2.0):
    """Places a call with an AuthCredInfo for the realm; returns (call states, last status,
    RTP packets pjsua2 received)."""
    ep = pj.Endpoint()
    ep.libCreate()
    try:
        start_endpoint(ep, no_vad=True)   # RTP all the time, not only while someone speaks
        acfg = account_config(f"sip:{USER}@127.0.0.1")
        acfg.sipConfig.authCreds.append(pj.AuthCredInfo("digest", REALM, USER, pj.PJSIP_CRED_DATA_PLAIN_PASSWD, password))
        account = pj.Account()
        account.create(acfg)
        call = Call(account)
        call.makeCall(f"sip:100@127.0.0.1:{server.sip_port}", pj.CallOpParam(True))
        rx = 0
        if pump(ep, 5.0, lambda: call.media_active or any(s.startswith("DISCONN") for s in call.states)):
            if call.media_active:
                pump(ep, talk_seconds)
                rx = call.getStreamStat(0).rtcp.rxStat.pkt
                call.hangup(pj.CallOpParam())
        pump(ep, 1.0, lambda: any(s.startswith("DISCONN") for s in call.states))
        states, status = list(call.states), call.last_status
        del call
        account.shutdown()
        return states, status, rx
    finally:
        ep.libDestroy()


@pytest.fixture
def sha256_server(parley_bin, prompts_dir, tmp_path, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    with running_server(parley_bin, tmp_path, prompts_dir, sip_extra=auth_yaml("[SHA-256]")) as server:
        yield server


def pjsua_call_is_admitted(server, algorithm_pattern: str):
    states, status, rx = pjsua_call(server, PASSWORD)
    assert rx > 50, f"pjsua2 received {rx} RTP packets; states {states}, last status {status}{server.describe()}"
    assert re.search(rf"algorithm={algorithm_pattern} .*user=alice.* INVITE authenticated", server.stderr), server.stderr_tail()
    assert [e.get("status") for e in events_named(server, "call.refused")] == [401]
    check_media(server)


def test_pjsua2_answers_a_sha256_challenge_and_places_a_call(sha256_server):
    """PJSIP 2.15 with a plain-password AuthCredInfo computes SHA-256 (RFC 8760) when that is
    what is offered; the call is admitted and G.711 flows both ways."""
    pjsua_call_is_admitted(sha256_server, "SHA-256")


def test_pjsua2_is_admitted_when_offered_sha256_and_md5(auth_server):
    """Both challenges offered (SHA-256 first): PJSIP 2.15.1 answers one of them (it keeps the
    last challenge of a realm, MD5) and is admitted."""
    pjsua_call_is_admitted(auth_server, "(SHA-256|MD5)")


def test_pjsua2_with_a_wrong_password_gets_403(auth_server):
    states, status, rx = pjsua_call(auth_server, WRONG)
    assert status == 403 and any(s.startswith("DISCONN") for s in states), f"states {states}, last status {status}{auth_server.describe()}"
    assert rx == 0
    refused = events_named(auth_server, "call.refused")
    assert [e.get("status") for e in refused] == [401, 403], refused
    assert WRONG not in auth_server.stderr and PASSWORD not in auth_server.stderr, "a password reached the log"
    assert not events_named(auth_server, "call.answered")
