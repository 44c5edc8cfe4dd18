"""Leveling and hold music for scripts/make-prompts.sh (numpy + sox).

  prompttool.py level IN.f32 OUT.wav RATE TARGET_LKFS CEILING_DB TAIL_S
      IN.f32 is raw mono 32-bit float at RATE. Cuts what is quieter than
      -47 dBFS at either end once leveled (keeping 15 ms), then brings it to TARGET_LKFS
      (BS.1770 gated loudness, see loudness.py) with one gain; where that gain
      would put a peak above CEILING_DB a smooth 1 ms-attack / 40 ms-release
      gain reduction holds the peaks under the ceiling and the gain is raised
      again until the loudness is on target. Then 3 ms ramps at both edges,
      TAIL_S seconds of digital silence (TAIL_S "loop": neither ramps nor
      tail, for music that loops), 16-bit WAV without dither (the output
      is a pure function of the input: byte-identical on every run).
  prompttool.py music OUT.f32 RATE SECONDS
      Gentle plucked-string music from sox synth (an eight-chord progression,
      arpeggios and a bass), SECONDS long and seamless when looped: the notes
      still ringing at the end are folded back onto the start, so the last
      sample leads into the first exactly as the music would continue.
Prints "LOUDNESS PEAK" of the written file for 'level'.
"""
import subprocess
import sys
import wave

import numpy as np

from loudness import edge_silence, loudness, peak_db

SOX = ["sox", "-D", "-R", "-V1"]


def _limit(x, ceiling, rate):
    """Gain envelope that keeps |x| under ceiling: the needed reduction, widened
    to a 1 ms look-around, then eased back towards unity over about 40 ms on
    both sides (so the reduction starts before a peak and releases after it)."""
    need = np.minimum(1.0, ceiling / np.maximum(np.abs(x), 1e-12))
    w = max(1, int(0.001 * rate))
    pad = np.pad(need, w, mode="edge")
    g = np.min(np.lib.stride_tricks.sliding_window_view(pad, 2 * w + 1), axis=1)
    k = 1.0 - np.exp(-1.0 / (0.040 * rate))
    for seq in (g, g[::-1]):  # a view: the backward pass smooths in place too
        for i in range(1, len(seq)):
            seq[i] = min(seq[i], seq[i - 1] + k * (1.0 - seq[i - 1]))
    return x * np.minimum(g, need)


def level(x, rate, target, ceiling_db):
    ceiling = 10.0 ** (ceiling_db / 20.0)
    l0 = loudness(x, rate)
    if not np.isfinite(l0):
        raise SystemExit("level: silent input")
    gain = 10.0 ** ((target - l0) / 20.0)
    y = x * gain
    for _ in range(8):
        if np.max(np.abs(y)) <= ceiling:
            break
        y = _limit(y, ceiling, rate)
        err = target - loudness(y, rate)
        if abs(err) < 0.05:
            break
        gain *= 10.0 ** (err / 20.0)
        y = x * gain
    if np.max(np.abs(y)) > ceiling:
        y = _limit(y, ceiling, rate)
    return y


def write_wav(path, x, rate):
    pcm = np.clip(np.round(x * 32768.0), -32768, 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


TRIM_DB = -47.0   # edges quieter than this (5 ms frames, dBFS once leveled) are cut
TRIM_KEEP_S = 0.015  # kept before the first and after the last frame above it


def trim(x, rate, target):
    """Cuts leading and trailing near-silence, judged at the level the prompt
    will be played at (so the threshold is relative to the speech)."""
    lk = loudness(x, rate)
    if not np.isfinite(lk):
        return x
    probe = x * 10.0 ** ((target - lk) / 20.0)
    lead, trail = edge_silence(probe, rate, threshold_db=TRIM_DB)
    keep = int(TRIM_KEEP_S * rate)
    start = max(0, int(round(lead * rate)) - keep)
    end = min(len(x), len(x) - int(round(trail * rate)) + keep)
    return x[start:end] if end > start else x


def cmd_level(src, out, rate, target, ceiling_db, tail_s):
    rate, target, ceiling_db = int(rate), float(target), float(ceiling_db)
    x = np.fromfile(src, dtype="<f4").astype(np.float64)
    if tail_s != "loop":  # hold music: no ramps, no tail, the loop point stays seamless
        x = trim(x, rate, target)
        # ramps and tail first, so the loudness is measured on what is played
        ramp = min(int(0.003 * rate), len(x) // 2)
        if ramp > 0:
            r = np.linspace(0.0, 1.0, ramp + 2)[1:-1]
            x[:ramp] *= r
            x[-ramp:] *= r[::-1]
        x = np.concatenate([x, np.zeros(int(round(float(tail_s) * rate)))])
    y = level(x, rate, target, ceiling_db)
    write_wav(out, y, rate)
    q = np.round(y * 32768.0) / 32768.0
    print(f"{loudness(q, rate):.2f} {peak_db(q):.2f}")


NOTE = {n: i for i, n in enumerate(["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"])}


def hz(name):
    """'A4' -> 440.0 (equal temperament)."""
    pitch, octave = name[:-1], int(name[-1])
    return 440.0 * 2.0 ** ((NOTE[pitch] + 12 * (octave + 1) - 69) / 12.0)


# chord: bass note, then four chord tones from low to high
PROGRESSION = [
    ("C3", ["C4", "E4", "G4", "C5"]),
    ("A2", ["A3", "C4", "E4", "A4"]),
    ("F2", ["F3", "A3", "C4", "F4"]),
    ("G2", ["G3", "B3", "D4", "G4"]),
    ("C3", ["E4", "G4", "C5", "E5"]),
    ("A2", ["C4", "E4", "A4", "C5"]),
    ("D3", ["D4", "F4", "A4", "D5"]),
    ("G2", ["D4", "G4", "B4", "D5"]),
]
PATTERN = [0, 1, 2, 3, 2, 1, 2, 1]  # arpeggio over the four chord tones, eighth notes
RING = 3.0  # seconds each chord is synthesized past its start slot, so notes decay naturally


def cmd_music(out, rate, seconds):
    rate, seconds = int(rate), float(seconds)
    total = int(round(seconds * rate))
    slot = seconds / len(PROGRESSION)
    step = slot / len(PATTERN)
    mix = np.zeros(total + int((slot + RING) * rate) + rate)
    for c, (bass, tones) in enumerate(PROGRESSION):
        voices = [(hz(bass), 0.0), (hz(bass), slot / 2)]
        voices += [(hz(tones[p]), i * step) for i, p in enumerate(PATTERN)]
        # one channel per note, started by 'delay', summed by 'remix' (bass a little softer);
        # pluck needs 44.1-48 kHz, so synthesize at 48 kHz and resample
        synth = []
        for f, _ in voices:
            synth += ["pluck", f"{f:.3f}"]
        delays = [f"{d:.4f}" for _, d in voices]
        mixspec = ",".join(f"{i + 1}v{0.6 if i < 2 else 1.0}" for i in range(len(voices)))
        raw = subprocess.run(
            SOX + ["-r", "48000", "-c", str(len(voices)), "-n", "-t", "f32", "-r", str(rate), "-c", "1", "-",
                   "synth", f"{slot + RING - max(d for _, d in voices):.4f}"] + synth
            + ["delay"] + delays + ["remix", mixspec, "highpass", "120", "lowpass", "2200", "rate", "-v", str(rate)],
            check=True, stdout=subprocess.PIPE).stdout
        y = np.frombuffer(raw, dtype="<f4").astype(np.float64)
        start = int(round(c * slot * rate))
        mix[start : start + len(y)] += y
    music = mix[:total].copy()
    rest = mix[total:]
    while len(rest):  # fold what rings past the end back onto the start: a seamless loop
        n = min(total, len(rest))
        music[:n] += rest[:n]
        rest = rest[n:]
    music.astype("<f4").tofile(out)


if __name__ == "__main__":
    if len(sys.argv) == 8 and sys.argv[1] == "level":
        cmd_level(*sys.argv[2:])
    elif len(sys.argv) == 5 and sys.argv[1] == "music":
        cmd_music(*sys.argv[2:])
    else:
        raise SystemExit(__doc__)
