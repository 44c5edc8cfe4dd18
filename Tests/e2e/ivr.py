"""Helpers for the auto-attendant tests and the key-to-prompt latency measurement.

- `make_prompt_set`: a prompt folder for the tests: the repository's prompts, the
  auto-attendant system prompts (agreed names, generated with scripts/make-prompts.sh into
  a temporary copy, never into prompts/), and the test tenant's own menu prompts under
  tenants/<tenant>/ (which also exercises tenant overrides).
- `IvrCaller`: a caller on a real UDP socket: sends 20 ms G.711 frames (silence, in-band
  DTMF) and RFC 4733 telephone-events, and records every RTP packet the server sends.
- `heard_in_order`: which prompts the caller heard, found by correlating the received
  audio against the prompt WAVs.
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import numpy as np

import rtp
import sipua

# The agreed auto-attendant system prompts (../PROMPT-NAMES.md) with their texts.
AA_PROMPTS = {
    "aa-thank-you-for-calling": "Thank you for calling.",
    "aa-closed": "Our office is closed right now.",
    "aa-holiday": "Our office is closed for the holiday.",
    "aa-enter-extension": "Please enter the extension of the person you are calling.",
    "aa-no-such-extension": "That extension does not exist.",
    "aa-transferring": "Please hold while your call is transferred.",
    "aa-transfer-failed": "Sorry, the transfer did not go through.",
    "aa-no-input": "Sorry, I did not hear a choice.",
    "aa-too-many-tries": "Sorry, we could not complete your request.",
}

# The test tenant's own prompts (tenants/demo/<name>.wav); distinct texts so that
# correlation tells them apart. `goodbye` overrides the system prompt of that name.
TENANT_PROMPTS = {
    "t-main-open": "Welcome to the test company. For sales, press one. For the front desk, press three.",
    "t-main-closed": "The test company is closed. Our hours are nine to five thirty.",
    "t-main-holiday": "Happy holidays. The office is closed today.",
    "t-sales": "Sales department. For technical support, press two. To go back, press star.",
    "t-support": "Technical support. To go back, press star. To hang up, press zero.",
    "t-ext201": "You have reached extension two oh one.",
    "t-new-main": "This is the new main menu after the reload.",
    "goodbye": "Thanks for calling the test company, and have a lovely day.",
}


def make_prompt_set(repo_root: Path, dest: Path, tenant: str = "demo") -> Path:
    """Builds the test prompt folder in `dest` and returns it."""
    work = dest / "build"
    (work / "scripts").mkdir(parents=True, exist_ok=True)
    (work / "prompts").mkdir(parents=True, exist_ok=True)
    shutil.copy(repo_root / "scripts" / "make-prompts.sh", work / "scripts" / "make-prompts.sh")
    shutil.copytree(repo_root / "prompts" / "tools", work / "prompts" / "tools", dirs_exist_ok=True)
    names = {**AA_PROMPTS, **{f"tenant-{k}": v for k, v in TENANT_PROMPTS.items()}}
    # Agreed prompts that already exist in prompts/ (the prompts branch) are used as they are.
    todo = {k: v for k, v in names.items() if k.startswith("tenant-") or not (repo_root / "prompts" / f"{k}.wav").is_file()}
    (work / "prompts" / "manifest.tsv").write_text("name\ttext\n" + "".join(f"{k}\t{v}\n" for k, v in todo.items()))
    subprocess.run(["bash", str(work / "scripts" / "make-prompts.sh")], check=True, stdout=subprocess.DEVNULL)
    out = dest / "prompts"
    (out / "tenants" / tenant).mkdir(parents=True, exist_ok=True)
    for wav in (repo_root / "prompts").glob("*.wav"):
        shutil.copy(wav, out / wav.name)
    for k in todo:
        target = out / "tenants" / tenant / f"{k[len('tenant-'):]}.wav" if k.startswith("tenant-") else out / f"{k}.wav"
        shutil.move(str(work / "prompts" / f"{k}.wav"), target)
    return out


def prompt_path(prompts: Path, name: str, tenant: str = "demo") -> Path:
    own = prompts / "tenants" / tenant / f"{name}.wav"
    return own if own.is_file() else prompts / f"{name}.wav"


# ---------------------------------------------------------------------------
# the caller
# ---------------------------------------------------------------------------

SILENCE = rtp.ulaw_encode(np.zeros(160, dtype=np.int32))
PT_EVENT = 101
EVENT_CODES = {**{str(d): d for d in range(10)}, "*": 10, "#": 11}


class IvrCaller:
    """One call to the server from a plain UDP socket pair (SIP via sipua, RTP here)."""

    def __init__(self, sip_port: int, number: str, inband: bool = False):
        self.ua = sipua.SipUA(sip_port)
        self.media = rtp.RtpListener()
        self.inband = inband
        self.number = number
        self._lock = threading.Lock()
        self._queue: list[tuple[str, object]] = []   # pending frames: ("audio", bytes) or ("event", (code, dur, end))
        self._stop = threading.Event()
        self.key_log: list[tuple[str, float, float]] = []   # (key, first packet sent, first end packet sent)
        self.call = None

    def __enter__(self):
        payloads = (0,) if self.inband else (0, PT_EVENT)
        self.call = self.ua.invite(self.number, sipua.make_sdp(self.media.port, payloads), timeout=5.0)
        assert self.call.final is not None and self.call.final.status == 200, f"INVITE answered {self.call.final}"
        self.call.ack()
        sdp = self.call.answer_sdp
        self.target = (sdp["c"], sdp["audio_port"])
        self._thread = threading.Thread(target=self._send_loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=2)
        self.media.close()
        self.ua.close()

    def _send_loop(self):
        seq, ts, ssrc = 1000, 8000, 0x1BADCAFE
        event_ts = None
        t0 = time.monotonic()
        n = 0
        while not self._stop.is_set():
            with self._lock:
                item = self._queue.pop(0) if self._queue else None
            if item is None or item[0] == "audio":
                payload = SILENCE if item is None else item[1]
                self.media.sendto(rtp.build_rtp(0, seq, ts, ssrc, payload, marker=n == 0), self.target)
                event_ts = None
            else:
                code, duration, end, key = item[1]
                first = event_ts is None
                if first:
                    event_ts = ts
                payload = struct.pack("!BBH", code, (0x80 if end else 0) | 10, duration)
                self.media.sendto(rtp.build_rtp(PT_EVENT, seq, event_ts, ssrc, payload, marker=first), self.target)
                now = time.monotonic()
                if first:
                    self.key_log.append((key, now, 0.0))
                elif end and self.key_log and self.key_log[-1][2] == 0.0:
                    k, started, _ = self.key_log[-1]
                    self.key_log[-1] = (k, started, now)
            seq += 1
            ts += 160
            n += 1
            # paced at absolute 20 ms deadlines
            delay = t0 + n * 0.020 - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def press(self, keys: str, tone_ms: int = 100, gap_ms: int = 100):
        """Queues key presses (RFC 4733 events, or in-band tones for an in-band caller)."""
        frames: list[tuple[str, object]] = []
        for key in keys:
            if self.inband:
                samples = rtp.dtmf_samples(key, tone_ms=tone_ms, gap_ms=gap_ms, lead_ms=0, tail_ms=0)
                pad = (-len(samples)) % 160
                samples = np.concatenate([samples, np.zeros(pad)])
                enc = rtp.ulaw_encode(np.round(samples).astype(np.int32))
                frames += [("audio", enc[i:i + 160]) for i in range(0, len(enc), 160)]
            else:
                steps = max(1, tone_ms // 20)
                for i in range(steps):
                    frames.append(("event", (EVENT_CODES[key], 160 * (i + 1), False, key)))
                for _ in range(3):   # the end packet, sent three times (RFC 4733 §2.5.1.4)
                    frames.append(("event", (EVENT_CODES[key], 160 * steps, True, key)))
                frames += [("audio", SILENCE)] * max(1, gap_ms // 20)
        with self._lock:
            self._queue += frames

    def idle(self) -> bool:
        with self._lock:
            return not self._queue

    def wait_sent(self, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        while not self.idle() and time.monotonic() < deadline:
            time.sleep(0.01)

    def received_audio(self) -> np.ndarray:
        pkts = [rtp.parse_rtp(d) for _, d, _ in self.media.snapshot()]
        return rtp.decode_stream([p for p in pkts if p.payload_type in (0, 8)])

    def wait_bye(self, timeout: float) -> bool:
        return self.ua.wait_request("BYE", self.call.call_id, timeout) is not None

    def hangup(self):
        return self.call.bye()


def heard_in_order(audio: np.ndarray, refs: list[tuple[str, np.ndarray]], head_s: float = 0.6,
                   threshold: float = 0.8) -> list[tuple[str, float, int]]:
    """For each reference in order, its first occurrence (the first window whose score
    passes `threshold`, refined to the local peak) in the received audio after the previous
    one: (name, score, offset in samples), offset -1 when not heard (score is then the best
    seen). The first `head_s` seconds of each prompt are compared, so a prompt cut short by
    barge-in still counts."""
    out = []
    start = 0
    for name, ref in refs:
        head = ref[: int(head_s * rtp.SAMPLE_RATE)]
        segment = audio[start:]
        if len(segment) < len(head):
            out.append((name, 0.0, -1))
            continue
        scores = rtp.xcorr_scores(segment, head)
        above = np.nonzero(scores >= threshold)[0]
        if len(above) == 0:
            out.append((name, float(scores.max(initial=0.0)), -1))
            continue
        first = int(above[0])
        window = scores[first:first + rtp.SAMPLES_PER_PACKET]
        lag = first + int(np.argmax(window))
        out.append((name, float(scores[lag]), start + lag))
        start = start + lag + len(head)
    return out
