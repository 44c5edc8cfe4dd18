"""Voicemail to email through the durable spool, against a real SMTP server on loopback
(aiosmtpd, started by the tests): the received message parses with Python's `email`
package and its attachment is the recorded audio; a list of three recipients is one SMTP
transaction with three RCPT; 451 then 250 delivers on retry; 550 for all moves the message
to failed/ with the reply; a relay down for a while receives everything spooled meanwhile;
`kill -9` of the delivering process in the middle of DATA loses nothing; STARTTLS
`required` never sends in plain text, `opportunistic` takes TLS when the relay offers it
and sends in plain text when it does not.

Messages are stored with `parley messages deposit` and queued with `parley mail send`;
delivery runs in `parley mail deliver` (and, in one test, inside `parley serve`)."""
from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from aiosmtpd.controller import Controller

import rtp
from conftest import REPO_ROOT, start_server, stop_server

TENANT = "demo"


# ---------------------------------------------------------------------------
# the relay
# ---------------------------------------------------------------------------


class Relay:
    """An aiosmtpd handler that records every DATA attempt and answers as told:
    `rcpt_replies[address]` is a list of replies given in turn to RCPT TO (then 250),
    `data_replies` a list given in turn at the end of DATA (then 250). While `hold` is
    cleared, the end of DATA waits (the message is on the wire, no reply yet)."""

    def __init__(self):
        self.attempts: list[dict] = []    # every end of DATA: {"rcpt": [...], "data": bytes, "reply": str}
        self.rcpt_replies: dict[str, list[str]] = {}
        self.data_replies: list[str] = []
        self.hold = threading.Event()
        self.hold.set()
        self.data_started = threading.Event()
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            queue = self.rcpt_replies.get(address) or []
            reply = queue.pop(0) if queue else None
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_started.set()
        while not self.hold.is_set():
            await asyncio.sleep(0.05)
        with self.lock:
            reply = self.data_replies.pop(0) if self.data_replies else "250 OK queued"
            self.attempts.append({"rcpt": list(envelope.rcpt_tos), "data": bytes(envelope.content),
                                  "from": envelope.mail_from, "reply": reply, "tls": session.ssl is not None,
                                  "login": getattr(session.auth_data, "login", None) if session.authenticated else None})
        return reply

    def delivered(self) -> list[dict]:
        with self.lock:
            return [a for a in self.attempts if a["reply"].startswith("250")]


def free_tcp_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_relay(handler: Relay, port: int, **smtp_options) -> Controller:
    c = Controller(handler, hostname="127.0.0.1", port=port, **smtp_options)
    c.start()
    return c


def wait_for(pred, timeout: float, what: str, context=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}{context()}", pytrace=False)


# ---------------------------------------------------------------------------
# parley as an operator runs it
# ---------------------------------------------------------------------------


class Setup:
    def __init__(self, parley_bin: Path, tmp_path: Path, relay_port: int):
        self.bin = parley_bin
        self.tmp = tmp_path
        self.data = tmp_path / "data"
        self.relay_port = relay_port
        self.config = tmp_path / "mail.yaml"
        self.config.write_text(self.mail_yaml() + "tenants:\n  demo:\n    domains: [127.0.0.1]\n" + self.tenant_yaml())
        self.deliverer: subprocess.Popen | None = None

    def mail_yaml(self) -> str:
        return (f"storage:\n  data_dir: {self.data}\n"
                "mail:\n"
                f"  relay: \"127.0.0.1:{self.relay_port}\"\n"
                "  from: voicemail@demo.example\n"
                "  starttls: off\n"
                "  retry_base: 300ms\n"
                "  max_age: 1h\n")

    @staticmethod
    def tenant_yaml() -> str:
        return ("    timezone: Europe/Brussels\n"
                "    mail:\n"
                "      subject: \"Voicemail for {mailbox} from {caller_name}\"\n"
                "      template: \"Caller: {caller_name} ({caller_number})\\nMailbox: {mailbox}\\n"
                "Length: {seconds} s\\nReceived: {received}\\nUrgency: {urgency}\\n\"\n")

    @property
    def spool(self) -> Path:
        return self.data / "spool" / "mail"

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        p = subprocess.run([str(self.bin), *args], capture_output=True, text=True, timeout=60, cwd=str(REPO_ROOT))
        if check and p.returncode != 0:
            pytest.fail(f"parley {' '.join(args)} exited {p.returncode}: {p.stderr}", pytrace=False)
        return p

    def mailbox(self, number: str, emails: list[str], *extra: str):
        self.run("mailbox", "add", "--data-dir", str(self.data), TENANT, number, "--name", "Sales Team", "--pin", "2468",
                 *[a for e in emails for a in ("--email", e)], *extra)

    def deposit(self, number: str, wav: Path, caller_name: str = "Zoë Müller", caller_number: str = "+3225550100",
                urgent: bool = False) -> str:
        args = ["messages", "deposit", "--data-dir", str(self.data), TENANT, number, str(wav),
                "--caller-number", caller_number, "--caller-name", caller_name]
        if urgent:
            args.append("--urgent")
        return self.run(*args).stdout.strip()

    def send(self, number: str, message_id: str) -> str:
        name = self.run("mail", "send", "--config", str(self.config), TENANT, number, message_id).stdout.strip()
        assert (self.spool / "new" / name).is_file(), name
        return name

    def status(self) -> dict:
        return json.loads(self.run("mail", "status", "--config", str(self.config), "--json").stdout)

    def messages(self, number: str) -> list[dict]:
        out = self.run("messages", "list", "--data-dir", str(self.data), TENANT, number).stdout.strip().splitlines()
        head = out[0].split("\t")
        return [dict(zip(head, line.split("\t"))) for line in out[1:]]

    def start_deliverer(self):
        self.log = open(self.tmp / "deliver.log", "ab")
        self.deliverer = subprocess.Popen([str(self.bin), "mail", "deliver", "--config", str(self.config), "--log-level", "debug"],
                                          stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, cwd=str(REPO_ROOT),
                                          start_new_session=True)

    def stop_deliverer(self):
        if self.deliverer and self.deliverer.poll() is None:
            self.deliverer.send_signal(signal.SIGTERM)
            try:
                rc = self.deliverer.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.deliverer.kill()
                pytest.fail("parley mail deliver did not stop on SIGTERM", pytrace=False)
            assert rc == 0, f"parley mail deliver exited {rc}{self.describe()}"
        self.deliverer = None

    def describe(self) -> str:
        log = (self.tmp / "deliver.log").read_text(errors="replace") if (self.tmp / "deliver.log").exists() else ""
        listing = {d: sorted(os.listdir(self.spool / d)) for d in ("new", "sent", "failed", "tmp")} if self.spool.exists() else {}
        return f"\n--- spool ---\n{listing}\n--- deliver log (tail) ---\n" + "\n".join(log.splitlines()[-30:])


@pytest.fixture
def speech_wav(tmp_path) -> tuple[Path, np.ndarray]:
    """2.5 s of a chirp with noise (8 kHz, 16-bit): distinctive enough for a correlation."""
    rate = 8000
    t = np.arange(int(2.5 * rate)) / rate
    rng = np.random.default_rng(9)
    samples = 8000 * np.sin(2 * np.pi * (300 * t + 400 * t * t)) + 1500 * rng.standard_normal(len(t))
    path = tmp_path / "speech.wav"
    rtp.write_wav(path, samples, rate)
    return path, rtp.read_wav(path)[0]


@pytest.fixture
def relay_port() -> int:
    return free_tcp_port()


@pytest.fixture
def relay(relay_port):
    handler = Relay()
    controller = start_relay(handler, relay_port)
    yield handler
    handler.hold.set()
    controller.stop()


@pytest.fixture
def setup(parley_bin, tmp_path, relay_port):
    s = Setup(parley_bin, tmp_path, relay_port)
    yield s
    s.stop_deliverer()


def parse(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)


# ---------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------


def test_a_list_of_three_gets_one_transaction_and_the_message_parses_with_the_audio_attached(setup, relay, speech_wav):
    """Given mailbox 100 with three addresses and a deposited message, when its email is
    spooled and delivered: one SMTP transaction with three RCPT TO; the message parses with
    Python's email package; From, To, Subject (RFC 2047, decoded back to the caller's name),
    Date, Message-ID and Auto-Submitted are right; the text names caller, number, mailbox,
    length and urgency; the WAV attachment correlates with the recorded audio; the message's
    email state becomes sent and the spool is empty."""
    wav, reference = speech_wav
    team = ["alice@demo.example", "bob@demo.example", "carol@demo.example"]
    setup.mailbox("100", team)
    message_id = setup.deposit("100", wav, urgent=True)
    setup.send("100", message_id)
    assert setup.status()["queued"] == 1
    setup.start_deliverer()
    wait_for(lambda: relay.delivered(), 20, "the message at the relay", setup.describe)
    wait_for(lambda: not os.listdir(setup.spool / "new") and not os.listdir(setup.spool / "sent"), 10,
             "the spool to empty", setup.describe)
    assert len(relay.attempts) == 1, relay.attempts
    attempt = relay.attempts[0]
    assert sorted(attempt["rcpt"]) == team and attempt["from"] == "voicemail@demo.example"

    msg = parse(attempt["data"])
    assert msg["Subject"] == "Voicemail for 100 from Zoë Müller", msg["Subject"]
    assert "=?UTF-8?B?" in attempt["data"].decode("ascii").split("\r\n\r\n")[0]  # RFC 2047 on the wire, 7-bit
    assert msg["From"].addresses[0].addr_spec == "voicemail@demo.example"
    assert sorted(a.addr_spec for a in msg["To"].addresses) == team
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Message-ID"] == f"<voicemail.{message_id}@demo.example>"
    assert msg["Date"].datetime is not None and abs(msg["Date"].datetime.timestamp() - time.time()) < 120
    assert msg.get_content_type() == "multipart/mixed"
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert "Caller: Zoë Müller (+3225550100)" in text, text
    assert "Mailbox: 100" in text and "Urgency: urgent" in text and "Length: 3 s" in text, text
    assert "CET" in text or "GMT+1" in text or "CEST" in text or "GMT+2" in text, text  # the tenant's zone
    attachments = list(msg.iter_attachments())
    assert len(attachments) == 1 and attachments[0].get_content_type() == "audio/wav"
    assert attachments[0].get_filename().startswith("voicemail-100-")
    received_wav = setup.tmp / "received.wav"
    received_wav.write_bytes(attachments[0].get_content())
    samples, rate = rtp.read_wav(received_wav)
    assert rate == 8000
    score, lag = rtp.normalized_xcorr(samples, reference)
    assert score > 0.99 and lag == 0, (score, lag)

    assert [m["EMAIL"] for m in setup.messages("100")] == ["sent"]
    status = setup.status()
    assert status["queued"] == 0 and status["delivered_total"] == 1 and status["failed"] == 0, status


def test_451_then_250_delivers_on_retry(setup, relay, speech_wav):
    """Given a relay that answers the end of DATA with 451 once, then 250: the message is
    deferred once (attempt count and next attempt in its spool file) and delivered on the
    retry; status counts one deferral and one delivery."""
    setup.mailbox("100", ["alice@demo.example"])
    relay.data_replies = ["451 4.3.0 try again later"]
    setup.send("100", setup.deposit("100", speech_wav[0]))
    setup.start_deliverer()
    wait_for(lambda: relay.delivered(), 20, "delivery after the retry", setup.describe)
    assert [a["reply"][:3] for a in relay.attempts] == ["451", "250"], relay.attempts
    assert relay.attempts[0]["data"] == relay.attempts[1]["data"]
    wait_for(lambda: setup.status()["delivered_total"] == 1, 10, "the delivery to be counted", setup.describe)
    status = setup.status()
    assert status["deferred_total"] == 1 and status["queued"] == 0, status


def test_550_for_all_recipients_moves_the_message_to_failed_with_the_reply(setup, relay, speech_wav):
    """Given a relay that refuses both recipients with 550: one attempt, then the file is in
    failed/ with the server's replies beside it, the message's email state is failed and
    the voicemail is kept (even with delete-after-email)."""
    setup.mailbox("100", ["nobody@demo.example", "ghost@demo.example"], "--delete-after-email")
    relay.rcpt_replies = {"nobody@demo.example": ["550 5.1.1 no such user"], "ghost@demo.example": ["550 5.1.1 no such user here"]}
    name = setup.send("100", setup.deposit("100", speech_wav[0]))
    setup.start_deliverer()
    wait_for(lambda: (setup.spool / "failed" / name).is_file(), 20, "the file in failed/", setup.describe)
    reply = (setup.spool / "failed" / f"{name}.reply").read_text()
    assert "nobody@demo.example: RCPT TO: 550 5.1.1 no such user" in reply, reply
    assert "ghost@demo.example: RCPT TO: 550 5.1.1 no such user here" in reply, reply
    assert relay.attempts == []  # no DATA without an accepted recipient
    wait_for(lambda: [m["EMAIL"] for m in setup.messages("100")] == ["failed"], 10, "email state failed", setup.describe)
    status = setup.status()
    assert status["failed"] == 1 and status["queued"] == 0 and status["failed_total"] == 1, status


def test_partial_success_retries_only_the_failed_recipient_then_deletes_after_email(setup, relay, speech_wav):
    """Given three recipients where one is deferred once (451 to RCPT): the first
    transaction delivers to two, the retry carries only the third; once every recipient
    has it, a delete-after-email mailbox no longer holds the message."""
    team = ["alice@demo.example", "bob@demo.example", "carol@demo.example"]
    setup.mailbox("100", team, "--delete-after-email")
    relay.rcpt_replies = {"bob@demo.example": ["451 4.2.1 mailbox busy"]}
    setup.send("100", setup.deposit("100", speech_wav[0]))
    setup.start_deliverer()
    wait_for(lambda: len(relay.delivered()) == 2, 20, "two transactions", setup.describe)
    assert [sorted(a["rcpt"]) for a in relay.delivered()] == [["alice@demo.example", "carol@demo.example"], ["bob@demo.example"]]
    wait_for(lambda: setup.messages("100") == [], 10, "the voicemail deleted after its email", setup.describe)


def test_relay_down_then_up_receives_everything_spooled_meanwhile(setup, relay_port, speech_wav):
    """Given no relay listening: five messages are spooled and deferred (the queue grows, the
    oldest age is reported); when the relay comes up, every one of them arrives, once."""
    setup.mailbox("100", ["alice@demo.example"])
    setup.start_deliverer()
    ids = [setup.deposit("100", speech_wav[0], caller_number=f"+3225550{i:03d}") for i in range(5)]
    for i in ids:
        setup.send("100", i)
    wait_for(lambda: setup.status()["deferred"] == 5, 20, "five deferred messages", setup.describe)
    status = setup.status()
    assert status["queued"] == 5 and "last_reply" in status, status
    handler = Relay()
    controller = start_relay(handler, relay_port)
    try:
        wait_for(lambda: len(handler.delivered()) == 5, 30, "all five at the relay", setup.describe)
        time.sleep(1.5)  # nothing more may come
        ids_seen = sorted(parse(a["data"])["Message-ID"] for a in handler.delivered())
        assert ids_seen == sorted(f"<voicemail.{i}@demo.example>" for i in ids)
        wait_for(lambda: setup.status()["queued"] == 0, 10, "an empty queue", setup.describe)
    finally:
        controller.stop()


def test_kill_9_of_the_server_during_data_loses_nothing(parley_bin, prompts_dir, tmp_path, relay, relay_port, speech_wav):
    """Given `parley serve` with mail configured delivering a message, when it is killed with
    SIGKILL while the relay holds the end of DATA (no reply yet, and the relay then refuses
    that session's message with 451): the file is still in new/; a new server delivers it."""
    setup = Setup(parley_bin, tmp_path, relay_port)
    setup.mailbox("100", ["alice@demo.example"])
    name = setup.send("100", setup.deposit("100", speech_wav[0]))
    relay.hold.clear()
    relay.data_replies = ["451 4.4.2 connection lost"]
    extra = setup.mail_yaml()
    server = start_server(parley_bin, tmp_path, prompts_dir, sip_extra=extra, tenant_extra=Setup.tenant_yaml())
    try:
        assert relay.data_started.wait(20), "the server never reached DATA" + server.describe()
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(timeout=5)
    finally:
        if server.proc.poll() is None:
            server.proc.kill()
    relay.hold.set()
    assert (setup.spool / "new" / name).is_file(), setup.describe()
    assert relay.delivered() == []
    server = start_server(parley_bin, tmp_path, prompts_dir, sip_extra=extra, tenant_extra=Setup.tenant_yaml())
    try:
        wait_for(lambda: relay.delivered(), 20, "delivery by the restarted server", server.describe)
        wait_for(lambda: not (setup.spool / "new" / name).exists(), 10, "the file to leave the spool", server.describe)
        assert len(relay.delivered()) == 1
        assert [m["EMAIL"] for m in setup.messages("100")] == ["sent"]
    finally:
        problem = stop_server(server)
    assert problem is None, problem + server.describe()


def test_a_damaged_spool_file_is_moved_aside_and_never_blocks_the_queue(setup, relay, speech_wav):
    """Given a truncated spool file and a foreign file ahead of a good one: both are moved
    to failed/ with a reason, logged, and the good one is delivered."""
    setup.mailbox("100", ["alice@demo.example"])
    good = setup.send("100", setup.deposit("100", speech_wav[0]))
    data = (setup.spool / "new" / good).read_bytes()
    (setup.spool / "new" / "0000000000001-truncated").write_bytes(data[: len(data) // 2])
    (setup.spool / "new" / "0000000000002-foreign").write_bytes(b"From: someone\r\n\r\nnot ours\r\n")
    setup.start_deliverer()
    wait_for(lambda: relay.delivered(), 20, "the good message", setup.describe)
    failed = sorted(os.listdir(setup.spool / "failed"))
    assert failed == ["0000000000001-truncated.damaged", "0000000000001-truncated.damaged.reason",
                      "0000000000002-foreign.damaged", "0000000000002-foreign.damaged.reason"], failed
    assert (setup.spool / "failed" / "0000000000001-truncated.damaged.reason").read_text().startswith("truncated")
    assert "spool file moved aside" in (setup.tmp / "deliver.log").read_text()


def test_only_one_deliverer_per_spool(setup, relay):
    """A second `parley mail deliver --once` while one runs is refused (exit 1)."""
    setup.mailbox("100", ["alice@demo.example"])
    setup.start_deliverer()
    wait_for(lambda: "mail delivery started" in (setup.tmp / "deliver.log").read_text(), 10, "the deliverer", setup.describe)
    time.sleep(0.5)
    p = setup.run("mail", "deliver", "--config", str(setup.config), "--once", check=False)
    assert p.returncode == 1 and "another process delivers" in p.stderr, p.stderr


def test_starttls_required_never_sends_in_plain_text(setup, relay, speech_wav):
    """Given `starttls: required` and a relay that does not offer STARTTLS: nothing is sent,
    the message stays queued (deferred) and the reason is shown by `parley mail status`."""
    setup.config.write_text(setup.config.read_text().replace("starttls: off", "starttls: required"))
    setup.mailbox("100", ["alice@demo.example"])
    setup.send("100", setup.deposit("100", speech_wav[0]))
    setup.start_deliverer()
    wait_for(lambda: setup.status()["deferred"] == 1, 20, "a deferral", setup.describe)
    assert relay.attempts == []
    assert "STARTTLS" in setup.status()["last_reply"]


def test_a_message_left_in_a_call_arrives_by_email_with_the_recording(parley_bin, prompts_dir, tmp_path, relay, relay_port):
    """Given `parley serve` with mail configured and mailbox 1001 (three addresses) reached
    by number 300: a caller leaves a message (speech over RTP after the beep) and hangs up; the deposit hook spools the email before the call ends and the server's
    delivery service sends it: one transaction with three RCPT, the attachment correlates
    with what the caller sent, the message's email state is sent."""
    import ivr
    setup = Setup(parley_bin, tmp_path, relay_port)
    team = ["desk@demo.example", "ann@demo.example", "ben@demo.example"]
    tenant = (Setup.tenant_yaml() + "    mailboxes: { \"1001\": { name: Front Desk, pin: \"4711\", email: ["
              + ", ".join(team) + "] } }\n")
    numbers = {"100": "{ play: welcome }", "300": "{ voicemail: \"1001\" }"}
    server = start_server(parley_bin, tmp_path, prompts_dir, numbers=numbers, sip_extra=setup.mail_yaml(), tenant_extra=tenant)
    # The caller's speech: a spoken prompt (real speech, so the deposit's voice activity
    # detection keeps it), sent as PCMU after the beep.
    sent, rate = rtp.read_wav(prompts_dir / "vm-leave-message.wav")
    assert rate == 8000
    try:
        with ivr.IvrCaller(server.sip_port, "300") as caller:
            beep = server.wait_event(lambda e: e.get("event") == "prompt.started" and e.get("prompt") == "beep", 20.0)
            assert beep is not None, server.describe()
            time.sleep(0.5)
            encoded = rtp.ulaw_encode(np.round(np.concatenate([sent, np.zeros(rate)])).astype(np.int32))
            with caller._lock:
                caller._queue += [("audio", encoded[i:i + 160]) for i in range(0, len(encoded) - 159, 160)]
            caller.wait_sent(20.0)
            caller.hangup()
        wait_for(lambda: relay.delivered(), 30, "the email of the deposited message", server.describe)
        attempt = relay.delivered()[0]
        assert sorted(attempt["rcpt"]) == sorted(team) and len(relay.attempts) == 1
        msg = parse(attempt["data"])
        assert msg["Auto-Submitted"] == "auto-generated" and msg["Subject"].startswith("Voicemail for 1001 from ")
        wav = next(msg.iter_attachments()).get_content()
        (tmp_path / "att.wav").write_bytes(wav)
        samples, got_rate = rtp.read_wav(tmp_path / "att.wav")
        assert got_rate == rate and len(samples) > rate, (got_rate, len(samples))
        # The recording is the sent speech (trimmed of silence): it lines up with it.
        padded = np.concatenate([np.zeros(len(samples)), sent, np.zeros(len(samples))])
        score, _ = rtp.normalized_xcorr(padded, samples)
        assert score > 0.9, score
        wait_for(lambda: [m["EMAIL"] for m in setup.messages("1001")] == ["sent"], 10, "email state sent", server.describe)
    finally:
        problem = stop_server(server)
    assert problem is None, problem + server.describe()


def test_starttls_and_auth_plain_with_a_password_from_the_environment(setup, relay_port, speech_wav, tmp_path, monkeypatch):
    """Given a relay that requires STARTTLS (certificate for localhost from a private CA,
    named by `ca_file`) and AUTH after TLS, and `password: "${PARLEY_E2E_SMTP_PASSWORD}"`:
    the message arrives over TLS from the authenticated user; a wrong password is a deferral
    (the message stays queued), never a plain-text send."""
    import ssl
    from aiosmtpd.smtp import AuthResult, LoginPassword
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"parley" and auth_data.password == b"s3cret pass"
        return AuthResult(success=ok, handled=False, auth_data=auth_data)  # unhandled: aiosmtpd answers 235/535

    handler = Relay()
    controller = start_relay(handler, relay_port, tls_context=context, require_starttls=True, authenticator=authenticator,
                             auth_required=True, auth_require_tls=True)
    try:
        monkeypatch.setenv("PARLEY_E2E_SMTP_PASSWORD", "wrong")
        setup.config.write_text(setup.config.read_text()
                                .replace(f'relay: "127.0.0.1:{relay_port}"', f'relay: "localhost:{relay_port}"')
                                .replace("starttls: off", f"starttls: required\n  ca_file: {cert}\n  username: parley\n"
                                                          "  password: \"${PARLEY_E2E_SMTP_PASSWORD}\""))
        setup.mailbox("100", ["alice@demo.example"])
        setup.send("100", setup.deposit("100", speech_wav[0]))
        setup.start_deliverer()
        wait_for(lambda: setup.status()["deferred"] == 1, 20, "a deferral on the wrong password", setup.describe)
        assert handler.attempts == [] and "535" in setup.status()["last_reply"], setup.status()
        setup.stop_deliverer()
        monkeypatch.setenv("PARLEY_E2E_SMTP_PASSWORD", "s3cret pass")
        setup.start_deliverer()
        wait_for(lambda: handler.delivered(), 20, "delivery over TLS", setup.describe)
        attempt = handler.delivered()[0]
        assert attempt["tls"] and attempt["login"] == b"parley", attempt
        assert parse(attempt["data"])["Auto-Submitted"] == "auto-generated"
    finally:
        controller.stop()


def test_starttls_opportunistic_uses_tls_when_offered_and_plain_text_when_not(setup, relay_port, speech_wav, tmp_path):
    """Given `starttls: opportunistic` (and the relay's private CA named by `ca_file`):
    a relay that offers STARTTLS gets the message over TLS; after it is replaced by a relay
    on the same port that does not offer STARTTLS, the next message arrives in plain text
    (opportunistic mode never defers for want of TLS)."""
    import ssl
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    setup.config.write_text(setup.config.read_text()
                            .replace(f'relay: "127.0.0.1:{relay_port}"', f'relay: "localhost:{relay_port}"')
                            .replace("starttls: off", f"starttls: opportunistic\n  ca_file: {cert}"))
    setup.mailbox("100", ["alice@demo.example"])

    # A relay offering STARTTLS (not requiring it): the client takes it.
    with_tls = Relay()
    controller = start_relay(with_tls, relay_port, tls_context=context, require_starttls=False)
    try:
        setup.send("100", setup.deposit("100", speech_wav[0], caller_name="First"))
        setup.start_deliverer()
        wait_for(lambda: with_tls.delivered(), 20, "delivery to the relay offering STARTTLS", setup.describe)
        assert [a["tls"] for a in with_tls.attempts] == [True], with_tls.attempts
        assert parse(with_tls.delivered()[0]["data"])["Subject"] == "Voicemail for 100 from First"
        setup.stop_deliverer()
    finally:
        controller.stop()

    # The same relay without STARTTLS (no tls_context: EHLO does not offer it): plain text.
    plain = Relay()
    controller = start_relay(plain, relay_port)
    try:
        setup.send("100", setup.deposit("100", speech_wav[0], caller_name="Second"))
        setup.start_deliverer()
        wait_for(lambda: plain.delivered(), 20, "delivery to the relay without STARTTLS", setup.describe)
        assert [a["tls"] for a in plain.attempts] == [False], plain.attempts
        assert parse(plain.delivered()[0]["data"])["Subject"] == "Voicemail for 100 from Second"
        wait_for(lambda: setup.status()["queued"] == 0, 10, "an empty queue", setup.describe)
    finally:
        controller.stop()


def test_attach_gsm_sends_a_gsm610_wav_a_fifth_the_size_that_correlates_with_the_recording(setup, relay, speech_wav):
    """Given `attach: gsm`, when a deposited message's email is delivered: the message parses
    with Python's email package; its one attachment is `audio/wav` holding GSM 6.10
    (format tag 0x0031, 8 kHz mono), under a fifth of the recorded 16-bit WAV; sox decodes
    it, and the decoded audio correlates (≥ 0.8) with the recording."""
    wav, reference = speech_wav
    setup.config.write_text(setup.config.read_text().replace("  max_age: 1h\n", "  max_age: 1h\n  attach: gsm\n", 1))
    setup.mailbox("100", ["alice@demo.example"])
    setup.send("100", setup.deposit("100", wav))
    setup.start_deliverer()
    wait_for(lambda: relay.delivered(), 20, "the message at the relay", setup.describe)
    msg = parse(relay.delivered()[0]["data"])
    attachments = list(msg.iter_attachments())
    assert len(attachments) == 1 and attachments[0].get_content_type() == "audio/wav", attachments
    assert attachments[0].get_filename().endswith(".wav")
    data = attachments[0].get_content()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE", data[:16]
    fmt = data.find(b"fmt ")
    assert fmt > 0
    tag, channels, rate = int.from_bytes(data[fmt + 8:fmt + 10], "little"), int.from_bytes(data[fmt + 10:fmt + 12], "little"), \
        int.from_bytes(data[fmt + 12:fmt + 16], "little")
    assert (tag, channels, rate) == (0x0031, 1, 8000), (tag, channels, rate)
    assert len(data) * 5 < wav.stat().st_size, (len(data), wav.stat().st_size)

    received = setup.tmp / "received-gsm.wav"
    raw = setup.tmp / "received-gsm.raw"
    received.write_bytes(data)
    p = subprocess.run(["sox", str(received), "-t", "raw", "-e", "signed", "-b", "16", "-r", "8000", str(raw)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    samples = np.frombuffer(raw.read_bytes(), dtype="<i2").astype(np.float64)
    assert abs(len(samples) - len(reference)) <= 320, (len(samples), len(reference))
    # The codec may delay the audio either way by a few samples: pad so every alignment is a lag ≥ 0.
    score, lag = rtp.normalized_xcorr(np.concatenate([np.zeros(200), samples]), reference)
    assert score >= 0.8, (score, lag - 200)
