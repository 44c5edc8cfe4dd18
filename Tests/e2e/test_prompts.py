"""The system prompts in prompts/: complete, in the one format Parley plays,
leveled to one loudness, trimmed, and under the peak ceiling.

Needs no server: it reads the committed WAVs and prompts/manifest.tsv. The
loudness measure is prompts/tools/loudness.py (ITU-R BS.1770 gated), the same
one scripts/make-prompts.sh levels with; target and ceiling are read from the
script so the two cannot drift apart.
"""
import re
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
PROMPTS = ROOT / "prompts"
sys.path.insert(0, str(PROMPTS / "tools"))
from loudness import edge_silence, loudness, peak_db  # noqa: E402

LOUDNESS_TOLERANCE_DB = 1.5
MAX_EDGE_SILENCE_S = 0.060  # speech and tones: at most this much silence (< -50 dBFS) at either end
MIN_LENGTH_S = 0.05


def _setting(name):
    m = re.search(rf"^{name}=(-?[0-9.]+)", (ROOT / "scripts" / "make-prompts.sh").read_text(), re.M)
    assert m, f"scripts/make-prompts.sh has no {name}= setting"
    return float(m.group(1))


TARGET_LKFS = _setting("TARGET_LKFS")
PEAK_MAX_DB = _setting("PEAK_MAX_DB")


def _manifest():
    lines = (PROMPTS / "manifest.tsv").read_text().splitlines()
    rows = [ln for ln in lines if ln.strip() and not ln.startswith("#")]
    assert rows[0] == "name\ttext", "manifest.tsv must start with the header 'name<TAB>text'"
    out = {}
    for ln in rows[1:]:
        name, text = ln.split("\t")
        assert name not in out, f"duplicate prompt {name}"
        out[name] = text
    return out


MANIFEST = _manifest()

# The names other parts of Parley (IVR "say", menus, voicemail, conferences) play.
ORD = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"]
REQUIRED = (
    ["welcome", "goodbye", "invalid-option", "please-try-again", "thank-you", "star", "pound", "beep",
     "silence-1s", "not-available", "enter-pin"]
    + [f"digit-{i}" for i in range(10)]
    + [f"num-{i}" for i in range(20)] + [f"num-{i}" for i in range(20, 100, 10)]
    + ["num-hundred", "num-thousand", "num-million"]
    + [f"ord-{i}" for i in range(1, 32)]
    + [f"day-{d}" for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")]
    + [f"month-{m}" for m in ("january", "february", "march", "april", "may", "june", "july", "august",
                              "september", "october", "november", "december")]
    + ["time-am", "time-pm", "time-oclock", "time-oh"]
    + [f"say-{w}" for w in ("today", "yesterday", "at", "and", "received", "from", "extension")]
    + [f"aa-{n}" for n in ("thank-you-for-calling", "closed", "holiday", "enter-extension", "no-such-extension",
                           "transferring", "transfer-failed", "no-input", "too-many-tries")]
    + [f"vm-{n}" for n in ("you-have", "new", "saved", "message", "messages", "no-messages", "leave-message",
                           "person-at", "unavailable", "busy", "mailbox-full", "message-sent", "message-deleted",
                           "message-saved", "enter-mailbox", "invalid-pin", "locked", "urgent", "end-of-messages")]
    + [f"conf-{n}" for n in ("enter-pin", "invalid-pin", "first-participant", "full", "locked", "muted", "unmuted",
                             "there-are", "participants", "one-participant", "join", "leave")]
    + ["music-on-hold"]
)


def _read(name):
    path = PROMPTS / f"{name}.wav"
    assert path.is_file(), f"{path} missing (run scripts/make-prompts.sh {name})"
    with wave.open(str(path), "rb") as w:
        fmt = (w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getcomptype())
        raw = w.readframes(w.getnframes())
    assert fmt == (8000, 1, 2, "NONE"), f"{name}.wav is {fmt}, want 8000 Hz mono 16-bit PCM"
    return np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0


def test_manifest_has_every_required_name():
    missing = [n for n in REQUIRED if n not in MANIFEST]
    assert not missing, f"manifest.tsv lacks {missing}"


def test_every_wav_is_in_the_manifest():
    extra = sorted(p.stem for p in PROMPTS.glob("*.wav") if p.stem not in MANIFEST)
    assert not extra, f"WAVs not in manifest.tsv (stale, or the manifest line was lost): {extra}"


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_prompt(name):
    x = _read(name)
    text = MANIFEST[name]
    assert len(x) >= MIN_LENGTH_S * 8000, f"{name}.wav is {len(x)} samples long"
    if text.startswith("@silence:"):
        assert not np.any(x), f"{name}.wav should be digital silence"
        assert abs(len(x) / 8000 - float(text.split(":")[1])) < 0.001
        return
    lk, pk = loudness(x, 8000), peak_db(x)
    assert abs(lk - TARGET_LKFS) <= LOUDNESS_TOLERANCE_DB, \
        f"{name}.wav loudness {lk:.2f} LKFS, want {TARGET_LKFS} ± {LOUDNESS_TOLERANCE_DB}"
    assert pk <= PEAK_MAX_DB + 0.01, f"{name}.wav peak {pk:.2f} dBFS above the {PEAK_MAX_DB} dBFS ceiling"
    if not text.startswith("@music:"):
        lead, trail = edge_silence(x, 8000)
        assert lead <= MAX_EDGE_SILENCE_S, f"{name}.wav starts with {lead * 1000:.0f} ms of silence"
        assert trail <= MAX_EDGE_SILENCE_S, f"{name}.wav ends with {trail * 1000:.0f} ms of silence"


def test_hold_music_loops_without_a_click():
    x = _read("music-on-hold")
    assert 29.5 <= len(x) / 8000 <= 30.5
    steps = np.abs(np.diff(x))
    jump = abs(x[0] - x[-1])
    assert jump <= np.percentile(steps, 99.9), \
        f"loop point jumps by {jump:.4f}, larger than 99.9 % of the music's own sample steps"
    # music keeps going: no second in it is near silent
    sec = x[: len(x) // 8000 * 8000].reshape(-1, 8000)
    quietest = 20 * np.log10(np.sqrt(np.mean(sec ** 2, axis=1)).min())
    assert quietest > TARGET_LKFS - 15, f"a second of the hold music is at {quietest:.1f} dBFS"


def _dominant_hz(x):
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)), 8192))
    return np.argmax(spec) * 8000 / 8192


@pytest.mark.parametrize("name,rising", [("conf-join", True), ("conf-leave", False)])
def test_conference_chimes_go_the_right_way(name, rising):
    x = _read(name)
    half = len(x) // 2
    first, second = _dominant_hz(x[:half]), _dominant_hz(x[half:])
    assert (second > first * 1.1) if rising else (second < first / 1.1), \
        f"{name}: {first:.0f} Hz then {second:.0f} Hz, want {'rising' if rising else 'falling'}"
