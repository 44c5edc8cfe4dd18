"""Guessing is slow: wrong voicemail PINs from parallel calls cannot pass the lockout;
conference PINs are counted per room across calls and lock the room's PIN entry; wrong digest
answers from one source make it back off while another source still gets in; and a SIGHUP
that adds `sip.auth` or narrows `sip.trusted` applies to the next INVITE."""
from __future__ import annotations

import hashlib
import re
import signal
import threading
import time

import ivr
import rtp
import sipua
from conftest import running_server, write_config

MAILBOXES = (
    "    mailboxes:\n"
    "      \"1001\": { name: Alice Martin, pin: \"2580\" }\n"
)
VM_NUMBERS = {"1099": "{ voicemail_main: true }"}

ROOMS = (
    "    licenses: { conference: premium }\n"
    "    conferences:\n"
    "      \"*\": { pin_lockout_after: 4, pin_free_failures: 10, pin_window: 10m, pin_lockout: 5m }\n"
    "      \"301\": { pin: \"4812\" }\n"
)
CONF_NUMBERS = {"301": "{ conference: \"301\" }"}

REALM = "parley.test"
PASSWORD = "wonder-land-7"
ATTACKER = "127.0.0.66"


def events_named(server, name, call_id=None):
    return [e for e in server.events() if e.get("event") == name and (call_id is None or e.get("call_id") == call_id)]


# -- voicemail ----------------------------------------------------------------

def test_parallel_wrong_voicemail_pins_cannot_pass_the_lockout(parley_bin, prompts_dir, tmp_path):
    """Given mailbox 1001 (five wrong PINs lock it), when six calls each type three wrong PINs
    at the same moment, then exactly four are answered "wrong PIN" and every other attempt is
    refused as locked without its hash being checked: five checks in all (before the fix,
    calls that read "not locked" at the same moment were all checked); a later call with the right PIN is refused while the lock lasts."""
    with running_server(parley_bin, tmp_path, prompts_dir, numbers=VM_NUMBERS, tenant_extra=MAILBOXES) as server:
        callers = [ivr.IvrCaller(server.sip_port, "1099") for _ in range(6)]
        for c in callers:
            c.__enter__()
        try:
            time.sleep(0.5)
            for i, c in enumerate(callers):
                c.press(f"1001#{i}1{i}3#1001#{i}7{i}1#1001#{i}9{i}4#")
            for c in callers:
                assert c.wait_bye(40.0), "the server did not hang up" + server.describe()
        finally:
            for c in callers:
                c.__exit__(None, None, None)
        wrong = [e for e in events_named(server, "voicemail.login_failed") if e.get("reason") == "wrong PIN"]
        locked = events_named(server, "voicemail.locked")
        assert len(wrong) == 4, f"{len(wrong)} wrong PINs were checked; the limit is 5 (the 5th locks)" + server.describe()
        assert len(locked) == 6, f"every call ends on the lock: {len(locked)}" + server.describe()
        assert not events_named(server, "voicemail.login")
        # The store logs each hash it checked ("wrong PIN") apart from refusals without a check.
        checked = server.stderr.count("voicemail login: wrong PIN")
        assert checked == 5, f"{checked} PIN hashes were checked; the limit is 5" + server.describe()
        with ivr.IvrCaller(server.sip_port, "1099") as caller:
            time.sleep(0.5)
            caller.press("1001#2580#")
            assert caller.wait_bye(20.0), server.describe()
            call_id = caller.call.call_id
        names = [e["event"] for e in server.call_events(call_id) if e["event"].startswith("voicemail.")]
        assert names == ["voicemail.locked"], names + [server.describe()]


# -- conference ---------------------------------------------------------------

def enter_pin_prompts(server, call_id: str) -> int:
    return sum(1 for e in server.call_events(call_id)
               if e.get("event") == "prompt.started" and e.get("prompt") == "conf-enter-pin")


def test_conference_pin_guessing_across_calls_locks_the_room(parley_bin, prompts_dir, tmp_path):
    """Given room 301 whose PIN entry locks after 4 wrong PINs, when two calls guess in turn,
    then three guesses are rejected, the fourth writes one conference.pin_locked and ends that
    call with conf-locked, and a later call with the right PIN is refused, never joined."""
    with running_server(parley_bin, tmp_path, prompts_dir, numbers=CONF_NUMBERS, tenant_extra=ROOMS,
                        inband_dtmf="auto") as server:
        callers = [ivr.IvrCaller(server.sip_port, "301") for _ in range(2)]
        for c in callers:
            c.__enter__()
        try:
            guesses = ["1111#", "2222#", "3333#"]
            done = set()
            for attempt in range(3):
                for n, c in enumerate(callers):
                    if n in done:
                        continue
                    cid = c.call.call_id
                    deadline = time.monotonic() + 10
                    while enter_pin_prompts(server, cid) < attempt + 1 and time.monotonic() < deadline:
                        if events_named(server, "conference.refused", cid) or events_named(server, "call.ended", cid):
                            break
                        time.sleep(0.05)
                    if events_named(server, "conference.refused", cid) or events_named(server, "call.ended", cid):
                        done.add(n)
                        continue
                    assert enter_pin_prompts(server, cid) >= attempt + 1, server.describe()
                    c.press(guesses[attempt])
                    c.wait_sent()
                    # Wait for this guess's verdict before the other caller guesses.
                    assert server.wait_event(lambda e: e.get("call_id") == cid and (
                        (e.get("event") == "conference.pin_rejected" and e.get("attempt") == attempt + 1)
                        or e.get("event") == "conference.refused"), 10.0), server.describe()
            for c in callers:
                assert c.wait_bye(15.0), "a guessing call was not hung up" + server.describe()
        finally:
            for c in callers:
                c.__exit__(None, None, None)
        assert len(events_named(server, "conference.pin_rejected")) == 3, server.describe()
        locked = events_named(server, "conference.pin_locked")
        assert len(locked) == 1 and locked[0].get("room") == "301" and locked[0].get("failures") == 4, locked
        assert "conference PIN entry locked" in server.stderr, "the lockout is not logged"
        with ivr.IvrCaller(server.sip_port, "301") as late:
            cid = late.call.call_id
            deadline = time.monotonic() + 10
            while enter_pin_prompts(server, cid) < 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            late.press("4812#")
            refused = server.wait_event(lambda e: e.get("call_id") == cid and e.get("event") == "conference.refused", 10.0)
            assert refused is not None and refused.get("reason") == "pin locked out", server.describe()
            assert late.wait_bye(10.0)
        assert not events_named(server, "conference.joined")
        assert len(events_named(server, "conference.pin_locked")) == 1


# -- digest authentication ----------------------------------------------------

def auth_yaml(lockout: str = "") -> str:
    return ("  trusted: [\"10.0.0.0/8\"]\n"
            "  auth:\n"
            f"    realm: {REALM}\n"
            "    algorithms: [MD5]\n"
            "    users:\n"
            f"      alice: {{ password: {PASSWORD}, tenants: [demo] }}\n"
            + lockout)


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def digest_invite(ua: sipua.SipUA, password: str, number: str = "100"):
    """INVITE, and when challenged, INVITE again answering the challenge (RFC 7616 §3.4, MD5).
    Returns (final response to the last INVITE, call)."""
    listener = rtp.RtpListener(ua.local_host)
    sdp = sipua.make_sdp(listener.port, ip=ua.local_host)
    try:
        call = ua.invite(number, sdp, timeout=3.0)
        if call.final is None or call.final.status != 401:
            return call.final, call
        challenge = call.final.get("www-authenticate")
        nonce = re.search(r'nonce="([^"]+)"', challenge).group(1)
        ha1, ha2 = md5(f"alice:{REALM}:{password}"), md5(f"INVITE:{call.uri}")
        response = md5(f"{ha1}:{nonce}:00000001:e2ecnonce:auth:{ha2}")
        authorization = (f'Digest username="alice", realm="{REALM}", nonce="{nonce}", uri="{call.uri}", '
                         f'response="{response}", algorithm=MD5, qop=auth, nc=00000001, cnonce="e2ecnonce"')
        call.cseq += 1
        call.invite_branch = "z9hG4bK" + sipua._rand(12)
        ua.send_raw(ua.request("INVITE", call.uri, call.call_id, call.cseq, call.from_tag, body=sdp,
                               branch=call.invite_branch, extra=[f"Authorization: {authorization}"]))
        call.final = ua.wait_final(call.call_id, "INVITE", 3.0)
        if call.final is not None:
            call.to_tag = sipua.tag_of(call.final.get("to"))
            call.ack()
        return call.final, call
    finally:
        listener.close()


def end(call):
    if call.final is not None and call.final.status == 200:
        assert call.bye() is not None


def test_digest_failures_from_one_source_back_off_while_another_source_gets_in(parley_bin, prompts_dir, tmp_path):
    """Given sip.auth with one free failure and a 30 s back-off, when 127.0.0.66 answers twice
    with a wrong password, then its next INVITE gets 403 with Retry-After and no challenge, even
    with the right password; meanwhile 127.0.0.1 authenticates and its call is answered."""
    lockout = "    lockout: { free_failures: 1, backoff: 30s, max_backoff: 30s, source_failures: 10, user_failures: 10 }\n"
    with running_server(parley_bin, tmp_path, prompts_dir, sip_extra=auth_yaml(lockout)) as server:
        with sipua.SipUA(server.sip_port, local_host=ATTACKER) as attacker, sipua.SipUA(server.sip_port) as phone:
            for _ in range(2):
                final, _ = digest_invite(attacker, "not-her-password")
                assert final is not None and final.status == 403, final
            final, _ = digest_invite(attacker, PASSWORD)
            assert final is not None and final.status == 403, final
            retry = final.get("retry-after")
            assert retry is not None and 1 <= int(retry) <= 30, final
            assert "too many failed authentications" in (final.get("warning") or ""), final
            assert final.get("www-authenticate") is None
            final, call = digest_invite(phone, PASSWORD)
            assert final is not None and final.status == 200, f"the other source was refused: {final}" + server.describe()
            end(call)
        assert "authentication failed" in server.stderr


# -- reload -------------------------------------------------------------------

def reload(server, prompts_dir, sip_extra: str, count: int):
    write_config(server.config_path, server.sip_port, server.rtp_start, prompts_dir, sip_extra=sip_extra)
    server.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while len(events_named(server, "config.reloaded")) < count and time.monotonic() < deadline:
        assert not events_named(server, "config.reload_failed"), server.describe()
        time.sleep(0.05)
    assert len(events_named(server, "config.reloaded")) >= count, server.describe()


def test_sighup_that_adds_auth_or_narrows_trusted_applies_to_the_next_invite(parley_bin, prompts_dir, tmp_path):
    """Given a server trusting 127.0.0.0/8 without auth, an INVITE is answered; after a SIGHUP
    adding sip.auth and trusting only 10.0.0.0/8 the next INVITE is challenged and the right
    answer is admitted; after one that drops auth but keeps trusted narrow, the next gets 403;
    after one trusting 127.0.0.1/32 again, it is answered."""
    with running_server(parley_bin, tmp_path, prompts_dir) as server:
        with sipua.SipUA(server.sip_port) as ua:
            final, call = digest_invite(ua, PASSWORD)
            assert final is not None and final.status == 200, final
            end(call)

            reload(server, prompts_dir, auth_yaml(), 1)
            with rtp.RtpListener() as listener:
                challenged = ua.invite("100", sipua.make_sdp(listener.port), timeout=3.0)
            assert challenged.final is not None and challenged.final.status == 401, challenged.final
            final, call = digest_invite(ua, PASSWORD)
            assert final is not None and final.status == 200, final
            end(call)

            reload(server, prompts_dir, "  trusted: [\"10.0.0.0/8\"]\n", 2)
            final, _ = digest_invite(ua, PASSWORD)
            assert final is not None and final.status == 403 and "not a trusted network" in (final.get("warning") or ""), final

            reload(server, prompts_dir, "  trusted: [\"127.0.0.1/32\"]\n", 3)
            final, call = digest_invite(ua, PASSWORD)
            assert final is not None and final.status == 200, final
            end(call)
