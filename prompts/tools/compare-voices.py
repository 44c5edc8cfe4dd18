#!/usr/bin/python3
"""Compares the English text-to-speech voices Debian 12 offers, for prompts/VOICES.md.

Usage: prompts/tools/compare-voices.py [OUTDIR]

Every voice speaks the same sentences (prompt texts plus a few "say"
concatenations). Each rendering is put through the telephone path the prompts
take (8 kHz, 300-3400 Hz band), then:
  - WER: an offline recognizer (pocketsphinx, Debian's en-us model with its
    general language model, no grammar) transcribes it; word error rate
    against the text.
  - pitch: F0 by normalized autocorrelation on 40 ms frames (10 ms hop);
    spread of F0 over voiced frames in semitones (std, and 5-95 % range).
    Flat, robotic voices have a small spread.
  - flatness: mean spectral flatness (geometric/arithmetic mean of the power
    spectrum, 300-3400 Hz) of voiced frames; buzzy or noisy vocoders score higher.
  - clicks per second: samples whose first difference exceeds 6x the RMS of the
    first difference over the surrounding 20 ms and 0.05 full scale.
  - rate: words per second of speech.
Needs: sox, pocketsphinx (python3-pocketsphinx, pocketsphinx-en-us), numpy and
the voices (flite, festival + festvox-*, espeak-ng + mbrola-us*, libttspico-utils).
"""
import os
import re
import subprocess
import sys
import tempfile
import wave

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loudness import read_wav  # noqa: E402

SENTENCES = [
    "Welcome to Parley.",
    "Thank you for calling.",
    "Our office is closed right now.",
    "Please enter the extension of the person you are calling.",
    "That extension does not exist.",
    "Please hold while your call is transferred.",
    "Sorry, the transfer did not go through.",
    "Sorry, I did not hear a choice.",
    "Please leave your message after the tone. When you are done, press pound.",
    "This mailbox is full and cannot take messages.",
    "Your message has been sent.",
    "Please enter your mailbox number, followed by pound.",
    "This mailbox is locked. Please try again later.",
    "There are no more messages.",
    "Please enter the conference pin, followed by pound.",
    "You are the first participant.",
    "This conference is full.",
    "You are no longer muted.",
    "There is one other participant in this conference.",
    "The number you have dialled is not available.",
    "That is not a valid option.",
    "You have three new messages.",
    "Received Tuesday at four fifteen P M.",
    "The person at extension two one four is on the phone.",
]

VOICES = {
    # name: command template; {text} file with the text, {out} output wav
    "espeak-ng en-us": ["espeak-ng", "-v", "en-us", "-s", "150", "-f", "{text}", "-w", "{out}"],
    "espeak-ng mb-us1": ["espeak-ng", "-v", "mb-us1", "-s", "150", "-f", "{text}", "-w", "{out}"],
    "espeak-ng mb-us2": ["espeak-ng", "-v", "mb-us2", "-s", "150", "-f", "{text}", "-w", "{out}"],
    "espeak-ng mb-us3": ["espeak-ng", "-v", "mb-us3", "-s", "150", "-f", "{text}", "-w", "{out}"],
    "flite kal": ["flite", "-voice", "kal", "-f", "{text}", "-o", "{out}"],
    "flite kal16": ["flite", "-voice", "kal16", "-f", "{text}", "-o", "{out}"],
    "flite awb": ["flite", "-voice", "awb", "-f", "{text}", "-o", "{out}"],
    "flite rms": ["flite", "-voice", "rms", "-f", "{text}", "-o", "{out}"],
    "flite slt": ["flite", "-voice", "slt", "-f", "{text}", "-o", "{out}"],
    "festival kal_diphone": ["text2wave", "-eval", "(voice_kal_diphone)", "{text}", "-o", "{out}"],
    "festival ked_diphone": ["text2wave", "-eval", "(voice_ked_diphone)", "{text}", "-o", "{out}"],
    "festival slt-hts": ["text2wave", "-eval", "(voice_cmu_us_slt_arctic_hts)", "{text}", "-o", "{out}"],
    "pico2wave en-US": ["pico2wave", "-l", "en-US", "-w", "{out}", "{textstr}"],
    "pico2wave en-GB": ["pico2wave", "-l", "en-GB", "-w", "{out}", "{textstr}"],
}

SOX = ["sox", "-D", "-R", "-V1"]


def words(s):
    s = s.lower().replace("-", " ")
    return re.sub(r"[^a-z' ]", " ", s).split()


def wer(ref, hyp):
    r, h = words(ref), words(hyp)
    d = list(range(len(h) + 1))
    for i in range(1, len(r) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(h) + 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (r[i - 1] != h[j - 1]))
            prev, d[j] = d[j], cur
    return d[len(h)], len(r)


def telephone(src, dst8k, dst16k):
    """8 kHz telephone band, as the prompts are heard; 16 kHz copy for the recognizer."""
    subprocess.run(SOX + [src, "-r", "8000", "-c", "1", "-b", "16", dst8k,
                          "silence", "1", "0.005", "0.1%", "reverse", "silence", "1", "0.005", "0.1%", "reverse",
                          "sinc", "300-3400", "rate", "-v", "8000", "norm", "-3"], check=True)
    subprocess.run(SOX + [dst8k, "-r", "16000", "-b", "16", dst16k, "pad", "0.3", "0.3", "rate", "-v", "16000"], check=True)


def decoder():
    from pocketsphinx import Decoder
    cfg = Decoder.default_config()
    for k, v in (("-hmm", "/usr/share/pocketsphinx/model/en-us/en-us"),
                 ("-lm", "/usr/share/pocketsphinx/model/en-us/en-us.lm.bin"),
                 ("-dict", "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict"),
                 ("-logfn", "/dev/null")):
        cfg.set_string(k, v)
    return Decoder(cfg)


def recognize(dec, path16k):
    with wave.open(path16k, "rb") as w:
        raw = w.readframes(w.getnframes())
    dec.start_utt()
    dec.process_raw(raw, False, True)
    dec.end_utt()
    hyp = dec.hyp()
    return hyp.hypstr if hyp else ""


def frames(x, rate, size_s=0.040, hop_s=0.010):
    size, hop = int(size_s * rate), int(hop_s * rate)
    n = max(0, 1 + (len(x) - size) // hop)
    idx = np.arange(size)[None, :] + hop * np.arange(n)[:, None]
    return x[idx]


def pitch_track(x, rate):
    """F0 per frame (Hz, 0 = unvoiced) by normalized autocorrelation, 70-400 Hz."""
    f = frames(x, rate)
    if len(f) == 0:
        return np.zeros(0), f
    f = f - f.mean(axis=1, keepdims=True)
    energy = np.sqrt(np.mean(f * f, axis=1))
    lo, hi = int(rate / 400), int(rate / 70)
    f0 = np.zeros(len(f))
    gate = np.max(energy) * 10 ** (-30 / 20)
    win = np.hanning(f.shape[1])
    for i, fr in enumerate(f):
        if energy[i] < gate:
            continue
        fw = fr * win
        spec = np.fft.rfft(fw, 2 * len(fw))
        ac = np.fft.irfft(np.abs(spec) ** 2)[: len(fw)]
        wac = np.fft.irfft(np.abs(np.fft.rfft(win, 2 * len(win))) ** 2)[: len(win)]
        ac = ac / (ac[0] + 1e-12) / (wac / wac[0] + 1e-12)
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.6:
            f0[i] = rate / lag
    return f0, f


def measures(path8k, text):
    x, rate, _, _ = read_wav(path8k)
    f0, f = pitch_track(x, rate)
    v = f0[f0 > 0]
    st = 12 * np.log2(v / np.median(v)) if len(v) > 3 else np.zeros(1)
    # spectral flatness of voiced frames, 300-3400 Hz
    flat = []
    for fr in f[f0 > 0]:
        p = np.abs(np.fft.rfft(fr * np.hanning(len(fr)))) ** 2 + 1e-12
        fr_hz = np.fft.rfftfreq(len(fr), 1 / rate)
        p = p[(fr_hz >= 300) & (fr_hz <= 3400)]
        flat.append(np.exp(np.mean(np.log(p))) / np.mean(p))
    d = np.diff(x)
    w = int(0.020 * rate)
    local = np.sqrt(np.convolve(d * d, np.ones(w) / w, mode="same")) + 1e-9
    clicks = int(np.sum((np.abs(d) > 6 * local) & (np.abs(d) > 0.05)))
    dur = len(x) / rate
    return {
        "f0_med": float(np.median(v)) if len(v) else 0.0,
        "f0_std_st": float(np.std(st)),
        "f0_range_st": float(np.percentile(st, 95) - np.percentile(st, 5)),
        "flatness": float(np.mean(flat)) if flat else 0.0,
        "clicks": clicks,
        "dur": dur,
        "words": len(words(text)),
    }


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="voices-")
    os.makedirs(out, exist_ok=True)
    dec = decoder()
    rows = []
    for vname, tmpl in VOICES.items():
        slug = re.sub(r"[^a-z0-9]+", "-", vname.lower())
        errs = refs = clicks = 0
        ms = []
        hyps = []
        for i, s in enumerate(SENTENCES):
            txt = os.path.join(out, f"{slug}-{i}.txt")
            raw = os.path.join(out, f"{slug}-{i}-raw.wav")
            p8, p16 = os.path.join(out, f"{slug}-{i}.wav"), os.path.join(out, f"{slug}-{i}-16k.wav")
            with open(txt, "w") as fh:
                fh.write(s + "\n")
            cmd = [a.replace("{text}", txt).replace("{out}", raw).replace("{textstr}", s) for a in tmpl]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            telephone(raw, p8, p16)
            hyp = recognize(dec, p16)
            e, n = wer(s, hyp)
            errs, refs = errs + e, refs + n
            m = measures(p8, s)
            ms.append(m)
            clicks += m["clicks"]
            hyps.append(f"  {s!r} -> {hyp!r}")
        dur = sum(m["dur"] for m in ms)
        row = {
            "voice": vname,
            "wer": 100.0 * errs / refs,
            "f0_med": np.median([m["f0_med"] for m in ms]),
            "f0_std_st": np.mean([m["f0_std_st"] for m in ms]),
            "f0_range_st": np.mean([m["f0_range_st"] for m in ms]),
            "flatness": np.mean([m["flatness"] for m in ms]),
            "clicks_s": clicks / dur,
            "wps": sum(m["words"] for m in ms) / dur,
        }
        rows.append(row)
        with open(os.path.join(out, f"{slug}-hyp.txt"), "w") as fh:
            fh.write("\n".join(hyps) + "\n")
        print(f"{vname:22s} WER {row['wer']:5.1f}%  F0 {row['f0_med']:5.0f} Hz  "
              f"F0 std {row['f0_std_st']:4.2f} st  range {row['f0_range_st']:5.2f} st  "
              f"flatness {row['flatness']:.3f}  clicks/s {row['clicks_s']:.2f}  words/s {row['wps']:.2f}",
              flush=True)
    print(f"renderings in {out}")


if __name__ == "__main__":
    main()
