"""Loudness and silence measures for the system prompts (numpy only).

Used by scripts/make-prompts.sh to level every prompt and by
Tests/e2e/test_prompts.py to check the result, so both agree on one measure.

Loudness is the ITU-R BS.1770-4 gated measure: K-weighting (high shelf +4 dB
above about 1.7 kHz, high pass at 38 Hz, both derived for the actual sample
rate from the analog prototypes), mean square over 400 ms blocks with 75 %
overlap, an absolute gate at -70 LKFS and a relative gate 10 LU below the
ungated mean. A signal shorter than one block is measured as a single block,
so a one-word fragment gets a defined value. The result is in LKFS (dB
relative to digital full scale, K-weighted); silence gives -inf.

Run as a script it prints "LOUDNESS PEAK" (both dBFS-based) for a WAV file.
"""
import math
import sys
import wave

import numpy as np

ABS_GATE = -70.0
REL_GATE = -10.0
BLOCK_S = 0.400
STEP_S = 0.100


def read_wav(path):
    """Returns (samples as float64 in [-1, 1), rate, channels, sample width)."""
    with wave.open(str(path), "rb") as w:
        rate, ch, width, n = w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()
        raw = w.readframes(n)
    if width != 2:
        raise ValueError(f"{path}: {8 * width}-bit samples, want 16-bit")
    x = np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0
    if ch > 1:
        x = x.reshape(-1, ch).mean(axis=1)
    return x, rate, ch, width


def _biquad_response(b, a, w):
    z1 = np.exp(-1j * w)
    z2 = z1 * z1
    return (b[0] + b[1] * z1 + b[2] * z2) / (a[0] + a[1] * z1 + a[2] * z2)


def k_weighting_coefficients(rate):
    """The two BS.1770 K-weighting biquads for this sample rate."""
    # Stage 1: high shelf.
    g, q, fc = 3.999843853973347, 0.7071752369554196, 1681.974450955533
    k = math.tan(math.pi * fc / rate)
    vh = 10.0 ** (g / 20.0)
    vb = vh ** 0.4996667741545416
    a0 = 1.0 + k / q + k * k
    shelf_b = [(vh + vb * k / q + k * k) / a0, 2.0 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0]
    shelf_a = [1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    # Stage 2: high pass.
    q, fc = 0.5003270373238773, 38.13547087602444
    k = math.tan(math.pi * fc / rate)
    d = 1.0 + k / q + k * k
    hp_b = [1.0, -2.0, 1.0]
    hp_a = [1.0, 2.0 * (k * k - 1.0) / d, (1.0 - k / q + k * k) / d]
    return (shelf_b, shelf_a), (hp_b, hp_a)


def k_weight(x, rate):
    """K-weighted copy of x. Filtering is done in the frequency domain with
    enough zero padding that the filters' tails do not wrap around."""
    if len(x) == 0:
        return x
    pad = rate  # 1 s: both filters have decayed far below 16-bit resolution by then
    n = 1 << int(math.ceil(math.log2(len(x) + pad)))
    spec = np.fft.rfft(x, n)
    w = 2.0 * np.pi * np.arange(len(spec)) / n
    for b, a in k_weighting_coefficients(rate):
        spec = spec * _biquad_response(b, a, w)
    return np.fft.irfft(spec, n)[: len(x)]


def loudness(x, rate):
    """Gated loudness in LKFS (BS.1770-4), -inf for silence."""
    y = k_weight(np.asarray(x, dtype=np.float64), rate)
    block, step = int(round(BLOCK_S * rate)), int(round(STEP_S * rate))
    if len(y) <= block:
        z = np.array([np.mean(y * y)]) if len(y) else np.array([0.0])
    else:
        starts = range(0, len(y) - block + 1, step)
        z = np.array([np.mean(y[s : s + block] ** 2) for s in starts])
    with np.errstate(divide="ignore"):
        lk = -0.691 + 10.0 * np.log10(z)
    z = z[lk > ABS_GATE]
    if len(z) == 0:
        return float("-inf")
    rel = -0.691 + 10.0 * math.log10(np.mean(z)) + REL_GATE
    with np.errstate(divide="ignore"):
        z = z[-0.691 + 10.0 * np.log10(z) > rel]
    return -0.691 + 10.0 * math.log10(np.mean(z))


def peak_db(x):
    p = float(np.max(np.abs(x))) if len(x) else 0.0
    return 20.0 * math.log10(p) if p > 0 else float("-inf")


def edge_silence(x, rate, threshold_db=-50.0, frame_s=0.005):
    """Seconds of silence at the start and at the end: whole 5 ms frames whose
    RMS is below threshold_db (dBFS)."""
    frame = max(1, int(round(frame_s * rate)))
    n = len(x) // frame
    if n == 0:
        return 0.0, 0.0
    f = np.asarray(x[: n * frame]).reshape(n, frame)
    rms = np.sqrt(np.mean(f * f, axis=1))
    loud = rms > 10.0 ** (threshold_db / 20.0)
    if not loud.any():
        return len(x) / rate, len(x) / rate
    first = int(np.argmax(loud))
    last = n - 1 - int(np.argmax(loud[::-1]))
    lead = first * frame / rate
    trail = (len(x) - (last + 1) * frame) / rate
    return lead, trail


if __name__ == "__main__":
    for p in sys.argv[1:]:
        x, rate, _, _ = read_wav(p)
        print(f"{loudness(x, rate):.3f} {peak_db(x):.3f}")
