"""Voicemail deposit end to end: the real server, real SIP and RTP, a real SQLite file and
real WAV files. pjsua2 leaves a known recording; a raw caller (exact RTP timing) checks
message waiting, the maximum length, a full mailbox and kill -9 in the middle of a deposit;
hostile mailbox names in the configuration are refused."""
from __future__ import annotations

import sqlite3
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

import ivr
import rtp
import sipua
from conftest import running_server, start_server, stop_server
from test_mwi import parse_summary, subscribe

try:
    import pjsua2 as pj
except ImportError as error:  # a missing peer is a failure, not a skip
    raise ImportError("pjsua2 is missing: run the suite through scripts/test") from error

from test_pjsua2 import Call, account_config, hang_up, pump, start_endpoint

NUMBERS = {"300": '{ voicemail: "2001" }', "100": "{ play: welcome }"}


def mailboxes(max_messages: int = 10, max_length: str = "60s") -> str:
    return ("    mailboxes:\n"
            f"      \"2001\": {{ name: Alice Martin, pin: \"4711\", max_messages: {max_messages}, max_message_length: {max_length} }}\n"
            "    voicemail: { silence_timeout: 4s, minimum_message: 1s }\n")


def reference_speech(prompts: Path, out: Path) -> np.ndarray:
    """About 5 s of speech (three prompts with pauses), 8 kHz; written to `out`."""
    parts = []
    for name in ("aa-closed", "welcome", "aa-thank-you-for-calling"):
        samples, rate = rtp.read_wav(prompts / f"{name}.wav")
        assert rate == 8000
        parts += [samples, np.zeros(2400)]
    speech = np.concatenate(parts)
    rtp.write_wav(out, speech)
    return speech


def messages(server) -> list[dict]:
    db = sqlite3.connect(f"file:{server.tmp_path / 'var' / 'parley.sqlite'}?mode=ro", uri=True, timeout=5)
    db.row_factory = sqlite3.Row
    try:
        rows = db.execute("SELECT m.*, b.number AS mailbox FROM message m JOIN mailbox b ON b.id = m.mailbox_id ORDER BY received_at").fetchall()
        return [dict(r) for r in rows]
    finally:
        db.close()


def deposit_event(server, timeout: float = 20.0) -> dict | None:
    return server.wait_event(lambda e: e.get("event") == "voicemail.deposit", timeout)


def wait_prompt(server, call_id: str | None, name: str, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = server.events() if call_id is None else server.call_events(call_id)
        if any(e["event"] == "prompt.started" and e.get("prompt") == name for e in events):
            return True
        time.sleep(0.05)
    return False


def test_pjsua2_leaves_a_message_that_is_stored_whole_with_its_row(parley_bin, prompts_dir, tmp_path):
    """pjsua2 calls 300 (voicemail of mailbox 2001), waits for the tone, plays a known 5 s WAV,
    presses # then 1 (send). The stored WAV matches what was played (delay-aligned correlation
    ≥ 0.9), its row says new, not urgent, the caller's number and name and about 5 s."""
    speech = reference_speech(prompts_dir, tmp_path / "speech.wav")
    with running_server(parley_bin, tmp_path, prompts_dir, numbers=NUMBERS, tenant_extra=mailboxes()) as server:
        ep = pj.Endpoint()
        ep.libCreate()
        try:
            start_endpoint(ep, clock_rate=8000, no_vad=True)
            acfg = account_config('"Bob Caller" <sip:3225550100@127.0.0.1>')
            account = pj.Account()
            account.create(acfg)
            call = Call(account)
            call.makeCall(f"sip:300@127.0.0.1:{server.sip_port}", pj.CallOpParam(True))
            assert pump(ep, 5.0, lambda: call.media_active), f"no media; {call.states}{server.describe()}"
            assert pump(ep, 20.0, lambda: wait_prompt(server, None, "beep", 0.01)), "no tone" + server.describe()
            pump(ep, 0.5)
            player = pj.AudioMediaPlayer()
            player.createPlayer(str(tmp_path / "speech.wav"), pj.PJMEDIA_FILE_NO_LOOP)
            player.startTransmit(call.getAudioMedia(-1))
            pump(ep, len(speech) / 8000 + 0.3)
            player.stopTransmit(call.getAudioMedia(-1))
            del player   # its conference port goes while the conference exists
            call.dialDtmf("#")
            assert pump(ep, 10.0, lambda: wait_prompt(server, None, "vm-review", 0.01)), "no review menu" + server.describe()
            pump(ep, 1.0)
            call.dialDtmf("1")
            assert pump(ep, 15.0, lambda: any(st.startswith("DISCONN") for st in call.states)), f"the server did not end the call; {call.states}"
            account.shutdown()
            del call
        finally:
            ep.libDestroy()
        event = deposit_event(server)
        assert event is not None and event["outcome"] == "sent", f"{event}{server.describe()}"
        rows = messages(server)
        assert len(rows) == 1, rows
        row = rows[0]
        assert (row["mailbox"], row["folder"], row["urgent"], row["caller_number"], row["caller_name"], row["damaged"]) == \
            ("2001", "new", 0, "3225550100", "Bob Caller", 0), row
        assert 4500 <= row["duration_ms"] <= 6500, row
        stored, rate = rtp.read_wav(server.tmp_path / "var" / row["audio_path"])
        assert rate == 8000
        score, lag = rtp.normalized_xcorr(np.concatenate([stored, np.zeros(len(speech))]), speech)
        rtp.write_wav(tmp_path / "stored.wav", stored)
        assert score >= 0.9, f"stored audio correlates {score:.3f} with what was played (lag {lag})"
        assert abs(len(stored) - len(speech)) < 8000, (len(stored), len(speech))


def test_message_waiting_urgent_and_maximum_length(parley_bin, prompts_dir, tmp_path):
    """A subscriber to mailbox 2001 first hears 0/0; a caller talks for 10 s into a mailbox that
    takes at most 3 s: the recording stops at 3 s and the review menu comes without #; the
    caller marks the message urgent (4) and sends it (1). The subscriber is notified
    `Voice-Message: 1/0 (1/0)`; the stored message is at most 3 s."""
    with running_server(parley_bin, tmp_path, prompts_dir, numbers=NUMBERS, tenant_extra=mailboxes(max_length="3s")) as server:
        with sipua.SipUA(server.sip_port) as ua:
            call_id, from_tag = sipua._rand(16) + "@e2e", sipua._rand()
            ok = subscribe(ua, f"sip:2001@127.0.0.1:{server.sip_port}", call_id, 1, from_tag)
            assert ok is not None and ok.status == 200, f"{ok}{server.describe()}"
            first = ua.wait_request("NOTIFY", call_id, 3.0)
            assert first is not None and parse_summary(first.body)["voice-message"] == "0/0 (0/0)", first
            with ivr.IvrCaller(server.sip_port, "300") as caller:
                assert wait_prompt(server, caller.call.call_id, "beep"), server.describe()
                speech = reference_speech(prompts_dir, tmp_path / "speech.wav")
                enc = rtp.ulaw_encode(np.round(np.concatenate([speech, speech])).astype(np.int32))
                with caller._lock:
                    caller._queue += [("audio", enc[i:i + 160]) for i in range(0, len(enc), 160)]
                assert wait_prompt(server, caller.call.call_id, "vm-review", 10.0), server.describe()
                caller.press("4")
                assert wait_prompt(server, caller.call.call_id, "vm-marked-urgent", 10.0), server.describe()
                caller.press("1")
                event = deposit_event(server)
                assert caller.wait_bye(10.0)
            assert event is not None and event["outcome"] == "sent" and event["urgent"] == "true", f"{event}{server.describe()}"
            notify = ua.wait_request("NOTIFY", call_id, 5.0)
            assert notify is not None, "no NOTIFY after the deposit" + server.describe()
            summary = parse_summary(notify.body)
            assert summary["messages-waiting"] == "yes" and summary["voice-message"] == "1/0 (1/0)", summary
        rows = messages(server)
        assert len(rows) == 1 and rows[0]["urgent"] == 1 and rows[0]["duration_ms"] <= 3000, rows
        assert rows[0]["duration_ms"] >= 2000, rows   # 3 s less the silence trimmed


def test_full_mailbox_says_so_and_records_nothing(parley_bin, prompts_dir, tmp_path):
    """Mailbox 2001 takes one message and holds one (imported with the CLI while the server
    runs): a caller hears the greeting then vm-mailbox-full, the call ends, no row is added."""
    with running_server(parley_bin, tmp_path, prompts_dir, numbers=NUMBERS, tenant_extra=mailboxes(max_messages=1)) as server:
        cli = subprocess.run([str(parley_bin), "messages", "deposit", "--data-dir", str(server.tmp_path / "var"), "demo", "2001",
                              str(prompts_dir / "welcome.wav"), "--caller-number", "100"], capture_output=True, text=True, timeout=30)
        assert cli.returncode == 0, cli.stderr
        with ivr.IvrCaller(server.sip_port, "300") as caller:
            assert wait_prompt(server, caller.call.call_id, "vm-mailbox-full"), server.describe()
            assert caller.wait_bye(15.0), "the server did not end the call"
        event = deposit_event(server)
        assert event is not None and event["outcome"] == "mailbox_full", event
        assert not wait_prompt(server, caller.call.call_id, "beep", 0.1)
        assert len(messages(server)) == 1


def test_kill_9_during_a_deposit_leaves_a_complete_message_or_none(parley_bin, prompts_dir, tmp_path):
    """kill -9 while the caller is talking: after a restart (start-up reconciliation) there is
    no row, the cut recording is quarantined, not left in the mailbox. Then a message is sent
    and the server killed at once: after a restart its row is there with a playable file.
    Never a row without audio."""
    server = start_server(parley_bin, tmp_path, prompts_dir, numbers=NUMBERS, tenant_extra=mailboxes())
    try:
        with ivr.IvrCaller(server.sip_port, "300") as caller:
            assert wait_prompt(server, caller.call.call_id, "beep"), server.describe()
            tone = (8000 * np.sin(2 * np.pi * 300 * np.arange(4 * 8000) / 8000)).astype(np.int32)
            enc = rtp.ulaw_encode(tone)
            with caller._lock:
                caller._queue += [("audio", enc[i:i + 160]) for i in range(0, len(enc), 160)]
            time.sleep(2.0)
            server.proc.kill()
            server.proc.wait(timeout=5)
    finally:
        if server.proc.poll() is None:
            stop_server(server)
    mailbox_dir = tmp_path / "var" / "voicemail" / "demo" / "2001"
    assert any(mailbox_dir.iterdir()), "no partial recording was on disk when the server was killed"
    server = start_server(parley_bin, tmp_path, prompts_dir, numbers=NUMBERS, tenant_extra=mailboxes())
    try:
        assert "quarantined=1" in server.stderr, server.describe()
        assert messages(server) == []
        assert list(mailbox_dir.iterdir()) == [], list(mailbox_dir.iterdir())
        assert any((tmp_path / "var" / "voicemail" / "quarantine").rglob("*.wav*"))
        with ivr.IvrCaller(server.sip_port, "300") as caller:
            assert wait_prompt(server, caller.call.call_id, "beep"), server.describe()
            speech = reference_speech(prompts_dir, tmp_path / "speech.wav")
            enc = rtp.ulaw_encode(np.round(speech).astype(np.int32))
            with caller._lock:
                caller._queue += [("audio", enc[i:i + 160]) for i in range(0, len(enc) - 159, 160)]
            caller.wait_sent(15.0)
            caller.press("#")
            assert wait_prompt(server, caller.call.call_id, "vm-review", 10.0), server.describe()
            caller.press("1")
            event = deposit_event(server)
            server.proc.kill()
            server.proc.wait(timeout=5)
        assert event is not None and event["outcome"] == "sent", event
    finally:
        if server.proc.poll() is None:
            stop_server(server)
    with running_server(parley_bin, tmp_path, prompts_dir, numbers=NUMBERS, tenant_extra=mailboxes()) as server:
        rows = messages(server)
        assert len(rows) == 1 and rows[0]["damaged"] == 0, rows
        stored, rate = rtp.read_wav(tmp_path / "var" / rows[0]["audio_path"])
        assert rate == 8000 and len(stored) / 8000 * 1000 == pytest.approx(rows[0]["duration_ms"], abs=30)
        assert "flagged_damaged=0" in server.stderr and "quarantined=0" in server.stderr, server.describe()


@pytest.mark.parametrize("mailbox, problem", [
    ('"../../etc"', "only ASCII letters and digits are allowed"),
    ('"2001\'; DROP TABLE message;--"', "only ASCII letters and digits are allowed"),
    ('"2001/x"', "only ASCII letters and digits are allowed"),
])
def test_hostile_mailbox_numbers_in_the_configuration_are_refused(parley_bin, prompts_dir, tmp_path, mailbox, problem):
    """check-config and serve both refuse the file with `file:line: key: problem`; nothing is
    created under the data directory's voicemail folder."""
    from conftest import write_config
    config = write_config(tmp_path / "parley.yaml", 5999, 30000, prompts_dir, numbers={"100": "{ play: welcome }"},
                          tenant_extra=f"    mailboxes:\n      {mailbox}: {{ pin: \"4711\" }}\n")
    check = subprocess.run([str(parley_bin), "check-config", str(config)], capture_output=True, text=True, timeout=30)
    assert check.returncode != 0 and problem in check.stderr + check.stdout, check
    assert f"{config}:" in check.stderr + check.stdout and "tenants.demo.mailboxes." in check.stderr + check.stdout, check
    serve = subprocess.run([str(parley_bin), "serve", "--config", str(config)], capture_output=True, text=True, timeout=30)
    assert serve.returncode != 0 and problem in serve.stderr, serve
    assert not (tmp_path / "var" / "voicemail" / "etc").exists() and not (tmp_path.parent / "etc").exists()
