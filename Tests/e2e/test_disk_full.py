"""A full disk is an error, not a crash (issue 16): a voicemail recording, the mail spool and
the event log each on a small tmpfs that the test fills.

- A recording that hits ENOSPC fails that message: the caller hears vm-record-failed and gets
  a BYE, the event log says `voicemail.deposit` with outcome `failed` and the reason, the
  metric `parley_voicemail_deposits_total{outcome="failed"}` counts it, no message row exists
  without its audio, and the server answers OPTIONS and a second call. With room again, a
  message is kept.
- A mail spool that hits ENOSPC keeps the voicemail (row `pending`), writes `mail.spool_failed`
  and counts `parley_mail_spool_failures_total`; once there is room the email is spooled on
  retry and delivered to a real SMTP relay (aiosmtpd).
- The event log on a 1 MB tmpfs flooded by refused INVITEs from 127.0.0.66 (outside
  `sip.trusted`): the server stays up and answers, `parley_event_log_dropped_total` counts
  the lines lost.

The tests mount tmpfs file systems (they run as root) and unmount them at teardown; where
mounting is not permitted they are skipped with the reason."""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

import rtp
import sipua
from conftest import running_server, start_server, stop_server
from test_admin import TOKEN, Admin, admin_yaml, free_tcp_port
from test_mail import Relay, start_relay
from test_shutdown_recording import SpeechSender

NUMBERS = {"100": "{ play: welcome }", "300": '{ voicemail: "1001" }'}
ATTACKER = "127.0.0.66"


# ---------------------------------------------------------------------------
# small file systems
# ---------------------------------------------------------------------------


@contextlib.contextmanager
def tmpfs(path: Path, size: str):
    """A tmpfs of `size` mounted at `path` for the block; skips the test when mounting is
    not permitted (not root, or no CAP_SYS_ADMIN in this container)."""
    path.mkdir(parents=True, exist_ok=True)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN): {p.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(folder: Path, leave: int = 0) -> Path:
    """Fills the file system holding `folder` with one file until ENOSPC, then gives back
    `leave` bytes. Returns the filler (remove it to give the space back)."""
    filler = folder / "filler"
    block = b"\x07" * 65536
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(1 << 16):  # bounded: 4 GB at most
            try:
                if os.write(fd, block) <= 0:
                    break
            except OSError:
                break
        size = os.lseek(fd, 0, os.SEEK_END)
        os.ftruncate(fd, max(0, size - leave))
    finally:
        os.close(fd)
    return filler


def free_bytes(folder: Path) -> int:
    s = os.statvfs(folder)
    return s.f_bavail * s.f_frsize


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def metric(api: Admin, name: str, labels: str = "") -> float:
    status, _, data = api.request("GET", "/metrics")
    assert status == 200, data[:300]
    pattern = re.escape(name) + (r"\{[^}]*" + re.escape(labels) + r"[^}]*\}" if labels else r"(?:\{\})?") + r" ([0-9.e+]+)"
    m = re.search(pattern.encode(), data)
    return float(m.group(1)) if m else 0.0


def messages(parley_bin, server) -> list[dict]:
    out = subprocess.run([str(parley_bin), "messages", "list", "--config", str(server.config_path), "demo", "1001"],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.strip().splitlines()
    head = lines[0].split("\t")
    return [dict(zip(head, line.split("\t"))) for line in lines[1:]]


def leave_message(server, talk_s: float, hang_up: bool):
    """Calls 300 (deposit for 1001) and talks (speech as PCMU) for `talk_s` after the beep.
    With `hang_up`, the caller then hangs up (the message is sent); otherwise the caller
    stays and waits for the server's BYE. Returns (call, BYE from the server or None)."""
    with sipua.SipUA(server.sip_port) as ua, rtp.RtpListener() as listener:
        call = ua.invite("300", sipua.make_sdp(listener.port), timeout=5.0)
        assert call.final is not None and call.final.status == 200, f"{call.final}{server.describe()}"
        call.ack()
        speech, _ = rtp.read_wav(server.prompts_dir / "welcome.wav")
        with SpeechSender(listener, ("127.0.0.1", call.answer_sdp["audio_port"]), speech):
            beep = server.wait_event(lambda e: e.get("event") == "prompt.finished" and e.get("prompt") == "beep"
                                     and e.get("call_id") == call.call_id, 20.0)
            assert beep is not None, "the deposit never reached the beep" + server.describe()
            if hang_up:
                time.sleep(talk_s)
                bye = call.bye()
                assert bye is not None and bye.status == 200, f"caller's BYE: {bye}{server.describe()}"
                return call, None
            bye = ua.wait_request("BYE", call.call_id, talk_s + 15.0)
        return call, bye


def second_call_works(server):
    """OPTIONS gets 200 and a call to 100 is answered and sends audio."""
    with sipua.SipUA(server.sip_port) as ua, rtp.RtpListener() as listener:
        r = ua.options(timeout=2.0)
        assert r is not None and r.status == 200, f"OPTIONS: {r}{server.describe()}"
        call = ua.invite("100", sipua.make_sdp(listener.port), timeout=5.0)
        assert call.final is not None and call.final.status == 200, f"second call: {call.final}{server.describe()}"
        call.ack()
        assert listener.wait_for(10, 5.0), "no RTP on the second call" + server.describe()
        bye = call.bye()
        assert bye is not None and bye.status == 200, bye


def deposit_event(server, call_id: str, timeout: float = 20.0) -> dict:
    e = server.wait_event(lambda e: e.get("event") == "voicemail.deposit" and e.get("call_id") == call_id, timeout)
    assert e is not None, "no voicemail.deposit event" + server.describe()
    return e


# ---------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------


def failed_deposit(server, talk_s: float) -> dict:
    """A caller who talks `talk_s` after the beep hears the apology and gets a BYE; returns
    the `voicemail.deposit` event, which says failed with ENOSPC's text."""
    call, bye = leave_message(server, talk_s=talk_s, hang_up=False)
    assert bye is not None, "no BYE after the failed recording" + server.describe()
    event = deposit_event(server, call.call_id)
    assert event["outcome"] == "failed", event
    assert "No space left on device" in event["reason"], event
    apology = [e["prompt"] for e in server.call_events(call.call_id) if e["event"] == "prompt.started"]
    assert "vm-record-failed" in apology, apology
    return event


def test_a_recording_that_fills_the_disk_fails_that_message_and_the_server_keeps_going(parley_bin, prompts_dir, tmp_path):
    """Given storage.data_dir on a 4 MB tmpfs: filled to the last byte, the recorder cannot
    even write its file's header; filled but for 24 KiB (1.5 s of audio), a caller talking for
    6 s fills it during the recording. Each time the caller hears the apology
    (vm-record-failed) and gets a BYE, `voicemail.deposit` says failed with ENOSPC's text and
    the metric counts it; no message row and no temporary file remain; the server answers
    OPTIONS and a second call, and with the space back a message is kept whole."""
    data = tmp_path / "data"
    port = free_tcp_port()
    with tmpfs(data, "4m"):
        server = start_server(parley_bin, tmp_path, prompts_dir, numbers=NUMBERS,
                              tenant_extra='    mailboxes:\n      "1001": { name: Alice, pin: "2580" }\n',
                              top_extra=f"storage:\n  data_dir: {data}\n" + admin_yaml(port),
                              env={"PARLEY_E2E_ADMIN_TOKEN": TOKEN})
        try:
            api = Admin(port)
            api.wait_up()
            filler = fill(data, leave=0)
            failed_deposit(server, talk_s=3.0)           # no room for the header
            os.truncate(filler, filler.stat().st_size - 24 * 1024)
            failed_deposit(server, talk_s=6.0)           # room for 1.5 s of the message
            assert server.alive(), server.describe()
            second_call_works(server)
            assert metric(api, "parley_voicemail_deposits_total", 'outcome="failed"') == 2

            filler.unlink()
            assert messages(parley_bin, server) == [], "a row was left for the failed recording"
            folder = data / "voicemail" / "demo" / "1001"
            leftovers = sorted(os.listdir(folder)) if folder.exists() else []
            assert leftovers == [], f"files left behind: {leftovers}"

            # Room again: the next message is kept, with its audio.
            call, _ = leave_message(server, talk_s=2.5, hang_up=True)
            assert deposit_event(server, call.call_id)["outcome"] == "sent"
            rows = messages(parley_bin, server)
            assert len(rows) == 1 and rows[0]["STATE"] == "ok", rows
        finally:
            problem = stop_server(server)
        assert problem is None, problem + server.describe()


def test_a_full_mail_spool_keeps_the_voicemail_and_sends_its_email_when_space_returns(parley_bin, prompts_dir, tmp_path):
    """Given the mail spool (data_dir/spool) on a full 1 MB tmpfs and a relay on loopback:
    a caller leaves a message; the message is kept with email state pending, the event log
    says `mail.spool_failed` (disk_full true), the metric counts one failure and the server
    answers a second call. When the space comes back, the email is spooled on retry,
    delivered once, and the message's email state becomes sent."""
    data = tmp_path / "data"
    relay_port = free_tcp_port()
    admin_port = free_tcp_port()
    handler = Relay()
    controller = start_relay(handler, relay_port)
    mail = ("mail:\n"
            f"  relay: \"127.0.0.1:{relay_port}\"\n"
            "  from: voicemail@demo.example\n"
            "  starttls: off\n"
            "  retry_base: 300ms\n")
    mailbox = '    mailboxes:\n      "1001": { name: Alice, pin: "2580", email: [alice@demo.example] }\n'
    try:
        with tmpfs(data / "spool", "1m"):
            server = start_server(parley_bin, tmp_path, prompts_dir, numbers=NUMBERS, tenant_extra=mailbox,
                                  top_extra=f"storage:\n  data_dir: {data}\n" + mail + admin_yaml(admin_port),
                                  env={"PARLEY_E2E_ADMIN_TOKEN": TOKEN})
            try:
                api = Admin(admin_port)
                api.wait_up()
                filler = fill(data / "spool", leave=0)
                call, _ = leave_message(server, talk_s=2.5, hang_up=True)
                assert deposit_event(server, call.call_id)["outcome"] == "sent"
                failed = server.wait_event(lambda e: e.get("event") == "mail.spool_failed", 10.0)
                assert failed is not None, "no mail.spool_failed event" + server.describe()
                assert failed["disk_full"] == "true" and "No space left on device" in failed["reason"], failed
                rows = messages(parley_bin, server)
                assert [(r["EMAIL"], r["STATE"]) for r in rows] == [("pending", "ok")], rows
                assert metric(api, "parley_mail_spool_failures_total") == 1
                assert handler.attempts == []
                second_call_works(server)

                filler.unlink()
                deadline = time.monotonic() + 20
                while not handler.delivered() and time.monotonic() < deadline:
                    time.sleep(0.1)
                assert len(handler.delivered()) == 1, "the email never arrived" + server.describe()
                assert server.wait_event(lambda e: e.get("event") == "mail.spooled_on_retry", 5.0) is not None
                deadline = time.monotonic() + 10
                while [r["EMAIL"] for r in messages(parley_bin, server)] != ["sent"] and time.monotonic() < deadline:
                    time.sleep(0.2)
                assert [r["EMAIL"] for r in messages(parley_bin, server)] == ["sent"], server.describe()
                time.sleep(1.0)
                assert len(handler.attempts) == 1, handler.attempts  # once, not once per retry
            finally:
                problem = stop_server(server)
            assert problem is None, problem + server.describe()
    finally:
        controller.stop()


def test_the_event_log_on_a_full_1mb_tmpfs_drops_lines_and_the_server_keeps_answering(parley_bin, prompts_dir, tmp_path):
    """Given `--events` on a 1 MB tmpfs filled but for 64 KiB and `sip.trusted` 127.0.0.1/32,
    when 127.0.0.66 floods refused INVITEs (each one an event line) until the disk is full:
    the server stays up, answers OPTIONS from 127.0.0.1 during the flood and a normal call
    after it, and `parley_event_log_dropped_total` counts the lost lines."""
    sipua.require_local_address(ATTACKER)
    events_dir = tmp_path / "ev"
    port = free_tcp_port()
    with tmpfs(events_dir, "1m"):
        # start_server writes --events to tmp_path/events.jsonl: make that the tmpfs's file.
        (tmp_path / "events.jsonl").symlink_to(events_dir / "events.jsonl")
        fill(events_dir, leave=64 * 1024)
        with running_server(parley_bin, tmp_path, prompts_dir,
                            sip_extra="  trusted: [127.0.0.1/32]\n  rate_limit: { requests_per_second: 100000, burst: 100000 }\n",
                            top_extra=admin_yaml(port), env={"PARLEY_E2E_ADMIN_TOKEN": TOKEN}) as server:
            api = Admin(port)
            api.wait_up()
            refused = 0
            with sipua.SipUA(server.sip_port, local_host=ATTACKER) as evil, sipua.SipUA(server.sip_port) as ua:
                deadline = time.monotonic() + 60
                sent = 0
                # Bounded: at most 6,000 INVITEs in bursts of 200, at most 60 s.
                while sent < 6000 and time.monotonic() < deadline:
                    for _ in range(200):
                        call = sipua.Call(evil, "100")
                        call.send_invite(sipua.make_sdp(40000))
                        sent += 1
                    while evil.wait_for(lambda m: m.is_response and m.status == 403, 0.2) is not None:
                        refused += 1
                    r = ua.options(timeout=2.0)
                    assert r is not None and r.status == 200, f"OPTIONS during the flood: {r}{server.describe()}"
                    if free_bytes(events_dir) == 0 and metric(api, "parley_event_log_dropped_total") > 0:
                        break
                assert refused > 0, "no 403 to the stranger's INVITEs" + server.describe()
                assert free_bytes(events_dir) == 0, f"the event log never filled the disk after {sent} INVITEs"
            assert server.alive(), server.describe()
            dropped = metric(api, "parley_event_log_dropped_total")
            assert dropped > 0, "no dropped lines counted"
            second_call_works(server)
            print(f"\nevent log full after {sent} refused INVITEs ({refused} 403 seen); {dropped:.0f} lines dropped")
