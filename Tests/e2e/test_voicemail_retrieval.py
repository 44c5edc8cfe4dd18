"""Voicemail retrieval by phone (number action `voicemail_main`), end to end.

- A message deposited into the store with the CLI (`parley messages deposit`, beside the running
  server) is retrieved by a pjsua2 caller calling from the mailbox's own number: it enters the
  PIN with RFC 4733 keys, hears the envelope and the message (normalized correlation of what it
  recorded against the stored audio, delay-aligned, >= 0.9), deletes it with 7 and leaves with #;
  after the hang-up the message is purged (no row in any folder, no file).
- Five wrong PINs over two calls lock the mailbox; after a server restart the right PIN is still
  refused (the lock lives in the database).
"""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

import numpy as np

import ivr
import rtp
from conftest import running_server

MAILBOXES = (
    "    timezone: America/New_York\n"
    "    mailboxes:\n"
    "      \"1001\": { name: Alice Martin, pin: \"2580\" }\n"
    "      \"1002\": { name: Bob Stone, pin: \"4826\" }\n"
)
NUMBERS = {"1099": "{ voicemail_main: true }"}


def cli(parley_bin, *args) -> subprocess.CompletedProcess:
    return subprocess.run([str(parley_bin), *map(str, args)], capture_output=True, text=True, timeout=30)


def message_rows(parley_bin, config, folder: str | None = None) -> list[list[str]]:
    args = ["messages", "list", "--config", config, "demo", "1001"] + (["--folder", folder] if folder else [])
    res = cli(parley_bin, *args)
    assert res.returncode == 0, res.stderr
    return [line.split("\t") for line in res.stdout.splitlines()[1:] if line.strip()]


def make_message(seconds: float = 4.0) -> np.ndarray:
    """Speech-band noise, syllable-like bursts: nothing any prompt resembles."""
    rng = np.random.default_rng(8)
    n = int(seconds * rtp.SAMPLE_RATE)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / rtp.SAMPLE_RATE)
    spectrum[(freqs < 300) | (freqs > 3000)] = 0
    noise = np.fft.irfft(spectrum, n)
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 3.5 * np.arange(n) / rtp.SAMPLE_RATE)
    x = noise * envelope
    return x / np.max(np.abs(x)) * 9000


def prompt_count(server, call_id: str, name: str, event: str = "prompt.started") -> int:
    return sum(1 for e in server.call_events(call_id) if e.get("event") == event and e.get("prompt") == name)


def test_pjsua2_hears_envelope_and_message_and_deletes_it(parley_bin, prompts_dir, tmp_path):
    import pjsua2 as pj
    from test_pjsua2 import Call, account_config, pump, start_endpoint

    with running_server(parley_bin, tmp_path, prompts_dir, numbers=NUMBERS, tenant_extra=MAILBOXES) as server:
        config = server.config_path
        original = make_message()
        wav = tmp_path / "message.wav"
        rtp.write_wav(wav, original)
        res = cli(parley_bin, "messages", "deposit", "--config", config, "demo", "1001", wav, "--caller-number", "5551234")
        assert res.returncode == 0, res.stderr
        rows = message_rows(parley_bin, config)
        assert len(rows) == 1 and rows[0][1] == "new", rows
        message_id = rows[0][0]
        stored_wav = tmp_path / "stored.wav"
        res = cli(parley_bin, "messages", "export", "--config", config, "demo", "1001", message_id, stored_wav)
        assert res.returncode == 0, res.stderr
        stored, rate = rtp.read_wav(stored_wav)
        assert rate == 8000
        stored_file = next((tmp_path / "var" / "voicemail" / "demo" / "1001").glob(f"{message_id}.wav"))

        recording = tmp_path / "heard.wav"
        ep = pj.Endpoint()
        ep.libCreate()
        try:
            start_endpoint(ep, clock_rate=8000, no_vad=True)
            acfg = account_config("sip:1001@127.0.0.1")
            account = pj.Account()
            account.create(acfg)
            call = Call(account)
            call.makeCall(f"sip:1099@127.0.0.1:{server.sip_port}", pj.CallOpParam(True))
            assert pump(ep, 5.0, lambda: call.media_active), f"no media; {call.states}{server.describe()}"
            recorder = pj.AudioMediaRecorder()
            recorder.createRecorder(str(recording))
            call.getAudioMedia(-1).startTransmit(recorder)

            received = server.wait_event(lambda e: e.get("event") == "call.received", 5.0)
            assert received is not None, server.describe()
            call_id = received["call_id"]

            def step(name, timeout, nth=1, event="prompt.started"):
                ok = pump(ep, timeout, lambda: prompt_count(server, call_id, name, event) >= nth)
                assert ok, f"waited for {event} {name} #{nth}{server.describe()}"

            # Calling from 1001: no mailbox number, the PIN only.
            step("enter-pin", 10)
            pump(ep, 0.5)
            call.dialDtmf("2580#")
            step("vm-main-menu", 15)
            call.dialDtmf("1")
            step("audio", 20)
            step("audio", 20, event="prompt.finished")
            step("vm-message-menu", 10)
            pump(ep, 0.5)
            call.dialDtmf("7")
            step("vm-main-menu", 15, nth=2)
            pump(ep, 0.3)
            call.getAudioMedia(-1).stopTransmit(recorder)
            del recorder
            call.dialDtmf("#")
            assert pump(ep, 15.0, lambda: any(s.startswith("DISCONN") for s in call.states)), f"no BYE after #; {call.states}{server.describe()}"
            account.shutdown()
            del call
        finally:
            ep.libDestroy()

        heard, rate = rtp.read_wav(recording)
        assert rate == 8000
        # The message, delay-aligned: the best lag of the normalized cross-correlation.
        score, lag = rtp.normalized_xcorr(heard, stored)
        print(f"message correlation {score:.3f} at lag {lag} samples")
        assert score >= 0.9, f"message correlation {score:.3f} at lag {lag}{server.describe()}"
        assert rtp.normalized_xcorr(stored, original)[0] >= 0.99, "the store changed the deposited audio"
        # The envelope came before it: the event log names its fragments in order, and the
        # caller heard "received … from" ahead of the message.
        prompts = [e["prompt"] for e in server.call_events(call_id) if e.get("event") == "prompt.started"]
        i = prompts.index("audio")
        envelope = prompts[max(k for k in range(i) if prompts[k] == "vm-message"):i]
        assert envelope[:2] == ["vm-message", "num-1"] and "say-received" in envelope and "say-at" in envelope, envelope
        assert envelope[-7:] == ["digit-5", "digit-5", "digit-5", "digit-1", "digit-2", "digit-3", "digit-4"], envelope
        refs = [(n, rtp.read_wav(prompts_dir / f"{n}.wav")[0]) for n in ("say-received", "say-from")]
        found = ivr.heard_in_order(heard[:lag + 160], refs, head_s=0.4, threshold=0.8)
        assert all(offset >= 0 for _, _, offset in found), f"envelope not heard: {found}"

        events = server.call_events(call_id)
        names = [e["event"] for e in events if e["event"].startswith("voicemail.")]
        assert "voicemail.login" in names and "voicemail.message_played" in names, names
        moved = [e for e in events if e["event"] == "voicemail.message_moved"]
        assert [(e["message"], e["folder"]) for e in moved] == [(message_id, "old"), (message_id, "deleted")], moved
        purged = server.wait_event(lambda e: e.get("event") == "voicemail.purged" and e.get("call_id") == call_id, 5.0)
        assert purged is not None and purged.get("count") == 1, server.describe()
        for folder in ("new", "old", "saved", "deleted"):
            assert message_rows(parley_bin, config, folder) == [], folder
        assert not stored_file.exists()


def login_attempts(server, keys: str) -> str:
    """One call from a number that is no mailbox: keys typed ahead; returns the call id after the server hung up."""
    with ivr.IvrCaller(server.sip_port, "1099") as caller:
        time.sleep(0.5)
        caller.press(keys)
        assert caller.wait_bye(40.0), "the server did not hang up" + server.describe()
        return caller.call.call_id


def test_lockout_after_wrong_pins_survives_a_restart(parley_bin, prompts_dir, tmp_path):
    with running_server(parley_bin, tmp_path, prompts_dir, numbers=NUMBERS, tenant_extra=MAILBOXES) as server:
        first = login_attempts(server, "1001#1111#1001#2222#1001#3333#")
        second = login_attempts(server, "1001#4444#1001#5555#")
        failures = [e for e in server.events() if e.get("event") == "voicemail.login_failed"]
        assert [(e["mailbox"], e["reason"]) for e in failures] == [("1001", "wrong PIN")] * 4, failures
        locked = [e for e in server.call_events(second) if e.get("event") == "voicemail.locked"]
        assert len(locked) == 1 and locked[0]["mailbox"] == "1001", server.describe()
        assert any(e.get("prompt") == "vm-locked" for e in server.call_events(second) if e.get("event") == "prompt.started")
        assert "mailbox locked" in server.stderr, "the lockout is not logged"
        assert first != second
    # Restart on the same data folder: the right PIN is refused while the lock lasts.
    (tmp_path / "events.jsonl").unlink()
    with running_server(parley_bin, tmp_path, prompts_dir, numbers=NUMBERS, tenant_extra=MAILBOXES) as server:
        third = login_attempts(server, "1001#2580#")
        names = [e["event"] for e in server.call_events(third) if e["event"].startswith("voicemail.")]
        assert names == ["voicemail.locked"], names + [server.describe()]
        # 1002 is not affected.
        fourth_keys = "1002#4826#"
        with ivr.IvrCaller(server.sip_port, "1099") as caller:
            time.sleep(0.5)
            caller.press(fourth_keys)
            ok = server.wait_event(lambda e: e.get("event") == "voicemail.login" and e.get("call_id") == caller.call.call_id, 20.0)
            assert ok is not None and ok["mailbox"] == "1002", server.describe()
            caller.hangup()


def test_star_during_the_greeting_logs_in_where_the_tenant_allows_it(parley_bin, prompts_dir, tmp_path):
    """voicemail.login_from_greeting: true — `*` during 1001's greeting leads to its PIN (the
    mailbox number is not asked); the right PIN logs in."""
    numbers = {"2001": "{ voicemail: \"1001\" }"}
    extra = MAILBOXES + "    voicemail: { login_from_greeting: true }\n"
    with running_server(parley_bin, tmp_path, prompts_dir, numbers=numbers, tenant_extra=extra) as server:
        with ivr.IvrCaller(server.sip_port, "2001") as caller:
            time.sleep(1.0)
            caller.press("*")
            assert server.wait_event(lambda e: e.get("event") == "prompt.started" and e.get("prompt") == "enter-pin", 15.0), \
                server.describe()
            caller.press("2580#")
            ok = server.wait_event(lambda e: e.get("event") == "voicemail.login", 15.0)
            assert ok is not None and ok["mailbox"] == "1001", server.describe()
            prompts = [e["prompt"] for e in server.call_events(caller.call.call_id) if e.get("event") == "prompt.started"]
            assert "vm-enter-mailbox" not in prompts, prompts
            caller.hangup()


def test_listening_and_deleting_update_message_waiting(parley_bin, prompts_dir, tmp_path):
    """A subscriber to 1001's message-summary hears each change the retrieval call makes: the
    message heard leaves new (0/1), then deleted (0/0)."""
    import sipua
    from test_mwi import parse_summary, subscribe
    with running_server(parley_bin, tmp_path, prompts_dir, numbers=NUMBERS, tenant_extra=MAILBOXES) as server:
        wav = tmp_path / "message.wav"
        rtp.write_wav(wav, make_message(2.0))
        res = cli(parley_bin, "messages", "deposit", "--config", server.config_path, "demo", "1001", wav)
        assert res.returncode == 0, res.stderr
        with sipua.SipUA(server.sip_port) as ua:
            call_id, from_tag = sipua._rand(16) + "@e2e", sipua._rand()
            ok = subscribe(ua, f"sip:1001@127.0.0.1:{server.sip_port}", call_id, 1, from_tag)
            assert ok is not None and ok.status == 200, f"{ok}{server.describe()}"
            assert ua.wait_request("NOTIFY", call_id, 3.0) is not None

            def next_summary():
                notify = ua.wait_request("NOTIFY", call_id, 20.0)
                assert notify is not None, "no NOTIFY" + server.describe()
                return parse_summary(notify.body)["voice-message"]

            with ivr.IvrCaller(server.sip_port, "1099") as caller:
                time.sleep(0.5)
                caller.press("1001#2580#1")
                assert next_summary() == "0/1 (0/0)"
                assert server.wait_event(lambda e: e.get("event") == "prompt.started" and e.get("prompt") == "audio", 20.0)
                caller.press("7")
                assert next_summary() == "0/0 (0/0)"
                caller.hangup()


def speak(caller, samples):
    """Queues audio (8 kHz samples) on an IvrCaller's RTP stream, 20 ms per packet."""
    enc = rtp.ulaw_encode(np.round(samples).astype(np.int32))
    frames = [("audio", enc[i:i + 160]) for i in range(0, len(enc) - 159, 160)]
    with caller._lock:
        caller._queue += frames


def test_temporary_greeting_recorded_by_phone_is_what_callers_hear(parley_bin, prompts_dir, tmp_path):
    """Options 0, 4: the owner records a temporary greeting (speech-band test signal sent as RTP),
    keeps it with 1; a caller to the mailbox's deposit number then hears it (correlation >= 0.9)."""
    numbers = {**NUMBERS, "2001": "{ voicemail: \"1001\" }"}
    greeting = make_message(2.5)
    with running_server(parley_bin, tmp_path, prompts_dir, numbers=numbers, tenant_extra=MAILBOXES) as server:
        with ivr.IvrCaller(server.sip_port, "1099") as owner:
            cid = owner.call.call_id
            time.sleep(0.5)
            owner.press("1001#2580#04")
            assert server.wait_event(lambda e: e.get("call_id") == cid and e.get("event") == "prompt.finished"
                                     and e.get("prompt") == "beep", 30.0), server.describe()
            time.sleep(0.3)
            speak(owner, greeting)
            time.sleep(len(greeting) / rtp.SAMPLE_RATE + 0.3)
            owner.press("#")
            assert server.wait_event(lambda e: e.get("call_id") == cid and e.get("event") == "prompt.started"
                                     and e.get("prompt") == "vm-greeting-review", 10.0), server.describe()
            owner.press("1")
            done = server.wait_event(lambda e: e.get("call_id") == cid and e.get("event") == "voicemail.greeting_recorded", 10.0)
            assert done is not None and done["kind"] == "temporary", server.describe()
            owner.hangup()
        with ivr.IvrCaller(server.sip_port, "2001") as caller:
            cid = caller.call.call_id
            heard = server.wait_event(lambda e: e.get("call_id") == cid and e.get("event") == "prompt.started"
                                      and e.get("prompt") == "vm-leave-message", 20.0)
            assert heard is not None, server.describe()
            audio = caller.received_audio()
            caller.hangup()
    score, lag = rtp.normalized_xcorr(audio, greeting)
    print(f"greeting correlation {score:.3f} at lag {lag} samples")
    assert score >= 0.9, f"greeting correlation {score:.3f}"


def test_retrieval_needs_the_voicemail_licence(parley_bin, prompts_dir, tmp_path):
    """licenses.voicemail: false — the retrieval number says not-available and hangs up, no login."""
    extra = "    licenses: { voicemail: false }\n" + MAILBOXES
    with running_server(parley_bin, tmp_path, prompts_dir, numbers=NUMBERS, tenant_extra=extra) as server:
        with ivr.IvrCaller(server.sip_port, "1099") as caller:
            assert caller.wait_bye(15.0), server.describe()
            cid = caller.call.call_id
        refused = [e for e in server.call_events(cid) if e.get("event") == "licence.refused"]
        assert refused and refused[0]["licence"] == "voicemail", server.describe()
        assert not [e for e in server.call_events(cid) if e["event"].startswith("voicemail.")]


def test_menu_option_voicemail_main_leads_to_the_login(parley_bin, prompts_dir, tmp_path):
    """A menu option `voicemail_main` hands the call from the attendant to retrieval."""
    numbers = {"100": "{ menu: main }"}
    extra = MAILBOXES + "    menus:\n      main: { greeting: welcome, options: { \"8\": voicemail_main } }\n"
    with running_server(parley_bin, tmp_path, prompts_dir, numbers=numbers, tenant_extra=extra) as server:
        with ivr.IvrCaller(server.sip_port, "100") as caller:
            cid = caller.call.call_id
            time.sleep(0.5)
            caller.press("8")
            assert server.wait_event(lambda e: e.get("call_id") == cid and e.get("event") == "prompt.started"
                                     and e.get("prompt") == "vm-enter-mailbox", 15.0), server.describe()
            caller.press("1002#4826#")
            ok = server.wait_event(lambda e: e.get("call_id") == cid and e.get("event") == "voicemail.login", 15.0)
            assert ok is not None and ok["mailbox"] == "1002", server.describe()
            caller.hangup()
