"""Two mail safety holes closed (issue 16), against the real binary and a real SMTP relay on
loopback (aiosmtpd):

- a message row and its pending email are committed together: a row left `pending` with no
  spool file (the spool file removed while the server is stopped, as a crash between the
  commit and the spool write would leave it) is spooled and delivered at the next start;
- SMTP AUTH is never sent without TLS unless `starttls: off` is explicit: with
  `opportunistic` and a relay that offers AUTH but no STARTTLS, nothing is sent and the
  delivery is deferred with a clear reason; with `starttls: off` the message goes out
  authenticated."""
from __future__ import annotations

import os
import time

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from conftest import start_server, stop_server
from test_disk_full import NUMBERS, deposit_event, leave_message, messages
from test_mail import Relay, Setup, free_tcp_port, start_relay, wait_for

MAILBOX = '    mailboxes:\n      "1001": { name: Alice, pin: "2580", email: [alice@demo.example] }\n'


def mail_yaml(data, relay_port: int, extra: str = "  starttls: off\n") -> str:
    return (f"storage:\n  data_dir: {data}\n"
            "mail:\n"
            f"  relay: \"127.0.0.1:{relay_port}\"\n"
            "  from: voicemail@demo.example\n"
            "  retry_base: 300ms\n" + extra)


def test_a_pending_row_without_its_spool_file_is_spooled_and_delivered_at_the_next_start(parley_bin, prompts_dir, tmp_path):
    """Given `parley serve` with mail to a relay that is down, a caller leaves a message: its
    row is committed with email state pending (not none) and its email is in new/. The
    server is stopped and the spool file removed (what a crash between the commit and the
    spool write leaves). At the next start, with the relay up, the email is spooled again
    and delivered once; the row becomes sent."""
    data = tmp_path / "data"
    relay_port = free_tcp_port()
    extra = mail_yaml(data, relay_port)
    server = start_server(parley_bin, tmp_path, prompts_dir, numbers=NUMBERS, tenant_extra=MAILBOX, top_extra=extra)
    try:
        call, _ = leave_message(server, talk_s=2.5, hang_up=True)
        assert deposit_event(server, call.call_id)["outcome"] == "sent"
        rows = messages(parley_bin, server)
        assert [r["EMAIL"] for r in rows] == ["pending"], rows
        new = data / "spool" / "mail" / "new"
        assert len(os.listdir(new)) == 1, os.listdir(new)
    finally:
        problem = stop_server(server)
    assert problem is None, problem + server.describe()

    for name in os.listdir(new):
        (new / name).unlink()
    handler = Relay()
    controller = start_relay(handler, relay_port)
    server = start_server(parley_bin, tmp_path, prompts_dir, numbers=NUMBERS, tenant_extra=MAILBOX, top_extra=extra)
    try:
        wait_for(lambda: handler.delivered(), 20, "the email of the pending message", server.describe)
        wait_for(lambda: [r["EMAIL"] for r in messages(parley_bin, server)] == ["sent"], 10, "email state sent",
                 server.describe)
        assert "voicemail email spooled at start" in server.stderr, server.stderr_tail()
        time.sleep(1.0)
        assert len(handler.attempts) == 1, handler.attempts
        assert handler.delivered()[0]["rcpt"] == ["alice@demo.example"]
    finally:
        problem = stop_server(server)
        controller.stop()
    assert problem is None, problem + server.describe()


def auth_relay(port: int) -> tuple[Relay, object, list]:
    """A relay that offers AUTH PLAIN/LOGIN in plain text (no STARTTLS) and records every
    AUTH it receives."""
    seen: list = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        seen.append((mechanism, getattr(auth_data, "login", None)))
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"parley" and auth_data.password == b"s3cret"
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    handler = Relay()
    controller = start_relay(handler, port, authenticator=authenticator, auth_required=True, auth_require_tls=False)
    return handler, controller, seen


def test_auth_is_not_sent_in_plain_text_with_opportunistic_and_is_with_starttls_off(parley_bin, tmp_path, speech_wav_path):
    """Given a relay offering AUTH but not STARTTLS and credentials configured: with
    `starttls: opportunistic` (the default) the relay never sees AUTH, nothing is delivered
    and `parley mail status` shows the reason; with `starttls: off` written explicitly the
    message goes out authenticated."""
    relay_port = free_tcp_port()
    setup = Setup(parley_bin, tmp_path, relay_port)
    creds = "  username: parley\n  password: s3cret\n"
    setup.config.write_text(setup.config.read_text().replace("  starttls: off\n", "  starttls: opportunistic\n" + creds))
    handler, controller, seen = auth_relay(relay_port)
    try:
        setup.mailbox("100", ["alice@demo.example"])
        setup.send("100", setup.deposit("100", speech_wav_path))
        setup.start_deliverer()
        wait_for(lambda: setup.status()["deferred"] == 1, 20, "a deferral", setup.describe)
        status = setup.status()
        assert "not sent in plain text" in status["last_reply"], status
        assert seen == [] and handler.attempts == [], (seen, handler.attempts)
        setup.stop_deliverer()

        setup.config.write_text(setup.config.read_text().replace("  starttls: opportunistic\n", "  starttls: off\n"))
        setup.start_deliverer()
        wait_for(lambda: handler.delivered(), 20, "delivery with starttls: off", setup.describe)
        attempt = handler.delivered()[0]
        assert attempt["login"] == b"parley" and not attempt["tls"], attempt
        assert [m for m, _ in seen] == ["PLAIN"], seen
    finally:
        setup.stop_deliverer()
        controller.stop()


@pytest.fixture
def speech_wav_path(tmp_path):
    import numpy as np
    import rtp
    rate = 8000
    t = np.arange(int(2.0 * rate)) / rate
    samples = 8000 * np.sin(2 * np.pi * (300 * t + 400 * t * t))
    path = tmp_path / "speech.wav"
    rtp.write_wav(path, samples, rate)
    return path
