#!/usr/bin/env python3
"""PESQ (ITU-T P.862, narrowband, via PyPI `pesq`) of JitterEval's outputs against the clean
reference. Usage, from the package root:

    mkdir -p /tmp/jitter-wav
    JITTER_EVAL_WAV=/tmp/jitter-wav .build-bench/release/JitterEval
    python3 Benchmarks/JitterEval/pesq_eval.py [--tsv] /tmp/jitter-wav

JitterEval runs it itself (PESQ_PYTHON names the interpreter) with --tsv, which prints
one `name<TAB>mean MOS-LQO` line per output instead of the table.

The 60 s streams are scored in 10 s segments (P.862 is specified for 8-20 s samples), each
output segment taken from where that buffer's play-out has reached the reference segment
(the first 0.6 s of slack covers its delay; P.862's own alignment does the rest); the table
gives the mean MOS-LQO per profile and buffer.
"""
import sys, glob, os, wave
import numpy as np
from pesq import pesq

def read(path):
    with wave.open(path) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32)

args = [a for a in sys.argv[1:] if a != "--tsv"]
tsv = "--tsv" in sys.argv[1:]
d = args[0]
ref = read(os.path.join(d, "reference.wav"))
fs, seg = 8000, 8000 * 10
rows = {}
for path in sorted(glob.glob(os.path.join(d, "?-*.wav"))):
    name = os.path.basename(path)[:-4]
    out = read(path)
    scores = []
    for start in range(0, len(ref) - seg + 1, seg):
        r = ref[start:start + seg]
        o = out[start:start + seg + int(float(os.environ.get("PESQ_SLACK", "0.6")) * fs)]
        try:
            scores.append(pesq(fs, r, o, "nb"))
        except Exception as e:  # silent segments and the like
            print(f"{name} @ {start / fs:.0f} s: {e}", file=sys.stderr)
    profile, buffer = name.split("-", 1)
    rows.setdefault(profile, {})[buffer] = (np.mean(scores) if scores else float("nan"), len(scores))

if tsv:
    for p in sorted(rows):
        for b, (score, _) in sorted(rows[p].items()):
            print(f"{p}-{b}\t{score:.4f}")
    sys.exit(0)

buffers = sorted({b for r in rows.values() for b in r})
print("| profile | " + " | ".join(f"{b} PESQ" for b in buffers) + " |")
print("|---|" + "---|" * len(buffers))
for p in sorted(rows):
    print(f"| {p} | " + " | ".join(f"{rows[p][b][0]:.2f} ({rows[p][b][1]} seg)" for b in buffers) + " |")
