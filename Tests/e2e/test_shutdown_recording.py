"""Shutdown while a voicemail message is being recorded: nothing recorded is lost, and no
message row is ever left without its audio."""
from __future__ import annotations

import signal
import subprocess
import threading
import time

import numpy as np
import pytest

import rtp
import sipua
from conftest import start_server

NUMBERS = {"100": "{ play: welcome }", "300": '{ voicemail: "1001" }'}
MAILBOX = '    mailboxes:\n      "1001": { name: Alice, pin: "2580" }\n'


class SpeechSender:
    """Sends speech (a prompt, looped) as PCMU every 20 ms to the server's RTP port: the
    caller talking. Speech, not a tone: the deposit trims what its voice detector calls silence."""

    def __init__(self, listener: rtp.RtpListener, dest: tuple[str, int], speech: np.ndarray):
        self.listener, self.dest, self.speech = listener, dest, speech
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        seq, ts, n = 1, 0, 0
        t0 = time.monotonic()
        while not self.stop.is_set():
            frame = rtp.ulaw_encode(self.speech[np.arange(n * 160, n * 160 + 160) % len(self.speech)])
            self.listener.sendto(rtp.build_rtp(0, seq & 0xFFFF, ts, 0x1234, frame), self.dest)
            seq, ts, n = seq + 1, ts + 160, n + 1
            time.sleep(max(0.0, t0 + n * 0.02 - time.monotonic()))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(2)


def messages(parley_bin, server) -> list[list[str]]:
    out = subprocess.run([str(parley_bin), "messages", "list", "--config", str(server.config_path), "demo", "1001"],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stdout + out.stderr
    return [line.split("\t") for line in out.stdout.splitlines()[1:]]


def leave_message_then(server, action, talk_s: float = 2.5, expect_bye: bool = True):
    """Calls 300 (deposit for mailbox 1001), talks after the beep for `talk_s`, then runs
    `action(call)` while the recorder is open. Returns the call and the server's BYE (when
    `expect_bye`)."""
    with sipua.SipUA(server.sip_port) as ua, rtp.RtpListener() as listener:
        call = ua.invite("300", sipua.make_sdp(listener.port), timeout=5.0)
        assert call.final is not None and call.final.status == 200, call.final
        call.ack()
        sdp = call.answer_sdp
        speech, _ = rtp.read_wav(server.prompts_dir / "welcome.wav")
        with SpeechSender(listener, ("127.0.0.1", sdp["audio_port"]), speech):
            beep = server.wait_event(lambda e: e.get("event") == "prompt.finished" and e.get("prompt") == "beep"
                                     and e.get("call_id") == call.call_id, 20.0)
            assert beep is not None, "no beep: the deposit did not reach recording" + server.describe()
            time.sleep(talk_s)
            action(call)
            bye = ua.wait_request("BYE", call.call_id, 10.0) if expect_bye else None
        return call, bye


@pytest.fixture
def vm_server(parley_bin, prompts_dir, tmp_path):
    s = start_server(parley_bin, tmp_path, prompts_dir, numbers=NUMBERS, tenant_extra=MAILBOX)
    yield s
    if s.proc.poll() is None:
        s.proc.kill()
        s.proc.wait(timeout=5)


def check_every_row_has_its_audio(parley_bin, server, tmp_path) -> list[float]:
    durations = []
    for row in messages(parley_bin, server):
        msg_id, state = row[0], row[-1]
        assert state == "ok", f"message {msg_id} flagged {state}"
        out = tmp_path / f"{msg_id}.wav"
        r = subprocess.run([str(parley_bin), "messages", "export", "--config", str(server.config_path),
                            "demo", "1001", msg_id, str(out)], capture_output=True, text=True, timeout=20)
        assert r.returncode == 0, r.stdout + r.stderr
        audio, rate = rtp.read_wav(out)
        assert rate == 8000 and len(audio) > 0
        durations.append(len(audio) / rate)
    return durations


def test_double_sigterm_during_a_recording_keeps_the_message_whole(vm_server, parley_bin, tmp_path):
    """Given a caller 2.5 s into a voicemail message, when the server gets SIGTERM twice,
    then the caller gets BYE, the server exits 0, and the mailbox holds the message with all
    its audio (every row's file reads back)."""
    def twice(_):
        vm_server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.1)
        vm_server.proc.send_signal(signal.SIGTERM)
    call, bye = leave_message_then(vm_server, twice)
    assert bye is not None, "no BYE from the server" + vm_server.describe()
    rc = vm_server.proc.wait(timeout=10)
    assert rc == 0, f"exit status {rc}{vm_server.describe()}"
    durations = check_every_row_has_its_audio(parley_bin, vm_server, tmp_path)
    assert len(durations) == 1, f"messages after the shutdown: {durations}{vm_server.describe()}"
    assert durations[0] >= 1.0, durations


def test_sigkill_during_a_recording_leaves_no_row_without_audio(vm_server, parley_bin, tmp_path):
    """Given a caller 2.5 s into a message, when the server is killed outright (SIGKILL), then
    after a restart every message row has readable audio (the store writes audio before the
    row; reconciliation at start quarantines what a crash left half-done)."""
    call, _ = leave_message_then(vm_server, lambda _: vm_server.proc.send_signal(signal.SIGKILL))
    vm_server.proc.wait(timeout=5)
    check_every_row_has_its_audio(parley_bin, vm_server, tmp_path)
