#!/usr/bin/python3
"""Word error rate of the committed prompts, for prompts/VOICES.md.

Usage: prompts/tools/check-recognition.py

Transcribes every spoken prompt in prompts/manifest.tsv, and a few "say"
sentences joined from fragments exactly as a call flow plays them (WAVs one
after the other, nothing added), with pocketsphinx (Debian's en-us model,
general language model). The WAVs are already 8 kHz; they are band-limited to
300-3400 Hz like a phone line and upsampled to the recognizer's 16 kHz.
Prints each transcription and the WER of the sentences, the fragments and the
concatenations (for these also with homophones such as "four"/"for" counted
as the same word, since a listener hears no difference).
"""
import importlib.util
import os
import subprocess
import tempfile
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
PROMPTS = os.path.dirname(HERE)
spec = importlib.util.spec_from_file_location("cv", os.path.join(HERE, "compare-voices.py"))
cv = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cv)

CONCATENATIONS = [
    ["vm-you-have", "num-3", "vm-new", "vm-messages"],
    ["vm-you-have", "num-1", "vm-saved", "vm-message"],
    ["vm-you-have", "num-20", "num-5", "vm-new", "vm-messages"],
    ["say-received", "day-tuesday", "say-at", "num-4", "num-15", "time-pm"],
    ["say-received", "say-yesterday", "say-at", "num-9", "time-oh", "num-5", "time-am"],
    ["say-received", "month-march", "ord-21", "say-at", "num-10", "time-oclock"],
    ["conf-there-are", "num-7", "conf-participants"],
    ["vm-person-at", "num-2", "num-1", "num-4", "vm-busy"],
    ["num-3", "num-hundred", "say-and", "num-40", "num-2"],
    ["say-from", "say-extension", "digit-5", "digit-0", "digit-7"],
]


# Words that sound the same: a listener cannot tell them apart, the recognizer's
# language model picks one. Used for the second ("heard") score only.
HOMOPHONES = {"to": "two", "too": "two", "for": "four", "o": "oh", "won": "one", "ate": "eight",
              "pm": "p m", "am": "a m"}


def heard(s):
    return " ".join(HOMOPHONES.get(w, w) for w in cv.words(s))


def rows():
    with open(os.path.join(PROMPTS, "manifest.tsv")) as fh:
        for ln in fh.read().splitlines()[1:]:
            if ln.strip() and not ln.startswith("#"):
                name, text = ln.split("\t")
                yield name, text


def recognize_files(dec, paths, tmp):
    joined, p16 = os.path.join(tmp, "joined.wav"), os.path.join(tmp, "joined-16k.wav")
    subprocess.run(cv.SOX + paths + [joined], check=True)
    subprocess.run(cv.SOX + [joined, "-r", "16000", p16, "sinc", "300-3400", "pad", "0.3", "0.3",
                             "rate", "-v", "16000"], check=True)
    return cv.recognize(dec, p16)


def main():
    dec = cv.decoder()
    text = dict(rows())
    tmp = tempfile.mkdtemp(prefix="recog-")
    totals = {}
    for name, t in text.items():
        if t.startswith("@"):
            continue
        kind = "sentences" if len(cv.words(t)) > 2 else "fragments"
        hyp = recognize_files(dec, [os.path.join(PROMPTS, name + ".wav")], tmp)
        e, n = cv.wer(t, hyp)
        a, b = totals.get(kind, (0, 0))
        totals[kind] = (a + e, b + n)
        print(f"{kind[:4]} {name:26s} {t!r} -> {hyp!r}")
    for names in CONCATENATIONS:
        ref = " ".join(text[n] for n in names)
        hyp = recognize_files(dec, [os.path.join(PROMPTS, n + ".wav") for n in names], tmp)
        e, n = cv.wer(ref, hyp)
        a, b = totals.get("concatenations", (0, 0))
        totals["concatenations"] = (a + e, b + n)
        e, n = cv.wer(heard(ref), heard(hyp))
        a, b = totals.get("concatenations, homophones as one", (0, 0))
        totals["concatenations, homophones as one"] = (a + e, b + n)
        print(f"cat  {'+'.join(names)}\n     {ref!r} -> {hyp!r}")
    for kind, (e, n) in totals.items():
        print(f"WER {kind}: {100.0 * e / n:.1f}% ({e} errors / {n} words)")


if __name__ == "__main__":
    main()
