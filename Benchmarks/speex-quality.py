#!/usr/bin/env python3
"""Passband ripple and stopband attenuation of libspeexdsp's resampler per quality level,
measured the way Tests/ParleyDSPTests/ResamplerTests.swift measures Parley's Resampler
(20 ms frames; sine tones of amplitude 20 000; least-squares sine fit after 20 ms; band
edges 0.85 and 1.15 x the lower Nyquist), so the two can be compared.

Usage: python3 Benchmarks/speex-quality.py [QUALITY ...]   (default: 2 3 4 5)
Needs python3-numpy and libspeexdsp (scripts/install-deps installs both).
"""
import ctypes as C
import sys

import numpy as np

lib = C.CDLL("libspeexdsp.so.1")
lib.speex_resampler_init.restype = C.c_void_p
lib.speex_resampler_init.argtypes = [C.c_uint32, C.c_uint32, C.c_uint32, C.c_int, C.POINTER(C.c_int)]
lib.speex_resampler_process_int.argtypes = [C.c_void_p, C.c_uint32, C.c_void_p, C.POINTER(C.c_uint32),
                                            C.c_void_p, C.POINTER(C.c_uint32)]
lib.speex_resampler_destroy.argtypes = [C.c_void_p]


def run(fin, fout, quality, x):
    err = C.c_int()
    st = lib.speex_resampler_init(1, fin, fout, quality, C.byref(err))
    frame, out = fin // 50, []
    for i in range(0, len(x) - frame + 1, frame):
        xi = np.ascontiguousarray(x[i:i + frame], dtype=np.int16)
        yo = np.zeros(2 * fout // 50, dtype=np.int16)
        il, ol = C.c_uint32(frame), C.c_uint32(len(yo))
        lib.speex_resampler_process_int(st, 0, xi.ctypes.data, C.byref(il), yo.ctypes.data, C.byref(ol))
        out.append(yo[:ol.value])
    lib.speex_resampler_destroy(st)
    return np.concatenate(out).astype(float)


def fit(y, f, fs):
    n = np.arange(len(y))
    a = np.stack([np.cos(2 * np.pi * f * n / fs), np.sin(2 * np.pi * f * n / fs), np.ones(len(y))], 1)
    c, *_ = np.linalg.lstsq(a, y, rcond=None)
    return np.hypot(c[0], c[1]), y - a @ c


def measure(fin, fout, quality):
    amp, n = 20000.0, np.arange(fin // 5)
    low_nyquist = min(fin, fout) / 2
    pass_edge, stop_edge = 0.85 * low_nyquist, 1.15 * low_nyquist
    settle = fout // 50
    gains, worst = [], -999.0
    for f in list(np.arange(100, pass_edge, low_nyquist / 40)) + [pass_edge]:
        y = run(fin, fout, quality, np.round(amp * np.sin(2 * np.pi * f * n / fin)))[settle:]
        a, residual = fit(y, f, fout)
        gains.append(20 * np.log10(a / amp))
        if fout > fin:
            worst = max(worst, 20 * np.log10(np.sqrt(np.mean(residual ** 2)) / (amp / np.sqrt(2)) + 1e-12))
    if fin > fout:
        for f in list(np.arange(stop_edge, fin / 2, (fin / 2 - stop_edge) / 60)) + [fin / 2 - 50]:
            y = run(fin, fout, quality, np.round(amp * np.sin(2 * np.pi * f * n / fin)))[settle:]
            worst = max(worst, 20 * np.log10(np.sqrt(np.mean(y ** 2)) / (amp / np.sqrt(2)) + 1e-12))
    return min(gains), max(gains), -worst


for q in [int(a) for a in sys.argv[1:]] or [2, 3, 4, 5]:
    for fin, fout in [(8000, 48000), (48000, 8000), (8000, 16000), (16000, 8000)]:
        lo, hi, stop = measure(fin, fout, q)
        print(f"speexdsp q{q} {fin:5d} -> {fout:5d}: gain {lo:+.4f} / {hi:+.4f} dB, "
              f"ripple {hi - lo:.4f} dB, stopband {stop:.1f} dB")
