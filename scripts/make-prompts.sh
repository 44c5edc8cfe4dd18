#!/usr/bin/env bash
# Regenerate the system prompts in prompts/ from prompts/manifest.tsv.
#
# Usage: scripts/make-prompts.sh [name ...]
#   With no names every prompt in the manifest is rebuilt; with names only those.
#
# The manifest is the single source of truth: one line per prompt,
#   name<TAB>text
# after a header line "name<TAB>text". Blank lines and lines starting with '#'
# are ignored. Special texts:
#   @tone:HZ:SECONDS        sine tone, 5 ms ramps at both ends
#   @chime:HZ,HZ:SECONDS    two soft notes one after the other, SECONDS each
#   @music:SECONDS          loopable hold music (prompts/tools/prompttool.py)
#   @silence:SECONDS        digital silence
# Anything else is spoken by flite with the CMU "rms" voice (see prompts/VOICES.md
# for why this voice).
#
# Output: prompts/<name>.wav, 8000 Hz, 16-bit signed PCM, mono.
# Speech: leading/trailing silence trimmed, HIGHPASS high pass, resampled to 8 kHz.
# Every prompt except silence is then leveled to one loudness, TARGET_LKFS
# (ITU-R BS.1770 gated loudness, prompts/tools/loudness.py), peaks held under
# PEAK_MAX_DB; speech gets 3 ms edge ramps and a TAIL of silence. The output is
# deterministic (no dither; flite, sox and the leveling are pure functions of
# their input), so running the script twice gives byte-identical files.
#
# Needs: flite, sox, python3 with numpy (Debian packages flite, sox,
# python3-numpy); installs them with apt-get when missing and run as root.
set -euo pipefail
export LC_ALL=C

# --- settings -----------------------------------------------------------------
VOICE=rms            # flite voice (built into Debian's flite package)
RATE=8000            # output sample rate
TARGET_LKFS=-20      # loudness of every prompt (speech, tones, music), LKFS
PEAK_MAX_DB=-1       # no sample above this, dBFS
TAIL=0.02            # seconds of silence kept after a spoken prompt
TRIM_THRESHOLD=0.1%  # sox 'silence' threshold for trimming (about -60 dBFS)
HIGHPASS=200         # Hz: below this a phone line carries little; Opus legs code speech more faithfully without it
PYTHON=/usr/bin/python3

# --- paths --------------------------------------------------------------------
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROMPTS="$ROOT/prompts"
MANIFEST="$PROMPTS/manifest.tsv"
TOOL="$PROMPTS/tools/prompttool.py"

die() { echo "make-prompts: $*" >&2; exit 1; }

# --- tools: installed through apt when missing ------------------------------------
need=()
command -v flite >/dev/null 2>&1 || need+=(flite)
command -v sox >/dev/null 2>&1 || need+=(sox)
[[ -x "$PYTHON" ]] && "$PYTHON" -c 'import numpy' 2>/dev/null || need+=(python3 python3-numpy)
if [[ ${#need[@]} -gt 0 ]]; then
    [[ "$(id -u)" -eq 0 ]] || die "missing ${need[*]} (apt-get install ${need[*]})"
    echo "make-prompts: installing ${need[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
flite -lv | grep -qw "$VOICE" || die "flite has no voice '$VOICE' ($(flite -lv))"
[[ -f "$MANIFEST" ]] || die "$MANIFEST not found"
[[ -f "$TOOL" ]] || die "$TOOL not found"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# sox: -D no dither (deterministic, and silence stays digital zero),
#      -R repeatable mode, -V1 only errors.
SOX=(sox -D -R -V1)
OUTFMT=(-r "$RATE" -c 1 -b 16 -e signed-integer -t wav)
F32=(-r "$RATE" -c 1 -t f32)   # intermediate: raw mono float, rounded only once at the end

# level IN.f32 OUT TAIL: loudness to TARGET_LKFS, peaks under PEAK_MAX_DB; prints "LKFS PEAK"
level() {
    "$PYTHON" "$TOOL" level "$1" "$2" "$RATE" "$TARGET_LKFS" "$PEAK_MAX_DB" "$3"
}

# make_tone OUT HZ SECONDS
make_tone() {
    local out=$1 hz=$2 secs=$3
    "${SOX[@]}" -n "${F32[@]}" "$WORK/tone.f32" synth "$secs" sine "$hz" fade h 0.005 "$secs" 0.005
    level "$WORK/tone.f32" "$out" 0
}

# make_chime OUT HZ1 HZ2 SECONDS: two notes, each a sine with a soft octave
# partial, quick attack and a decay, the second starting where the first ends.
make_chime() {
    local out=$1 hz1=$2 hz2=$3 secs=$4 f
    for f in "$hz1" "$hz2"; do
        "${SOX[@]}" -r "$RATE" -c 2 -n "${F32[@]}" "$WORK/note-$f.f32" \
            synth "$secs" sine "$f" sine "$(awk -v f="$f" 'BEGIN { printf "%.3f", 2 * f }')" \
            remix 1v0.8,2v0.2 fade q 0.008 "$secs" "$(awk -v s="$secs" 'BEGIN { printf "%.3f", s * 0.6 }')"
    done
    "${SOX[@]}" "${F32[@]}" "$WORK/note-$hz1.f32" "${F32[@]}" "$WORK/note-$hz2.f32" "${F32[@]}" "$WORK/chime.f32"
    level "$WORK/chime.f32" "$out" 0
}

# make_music OUT SECONDS
make_music() {
    local out=$1 secs=$2
    "$PYTHON" "$TOOL" music "$WORK/music.f32" "$RATE" "$secs"
    level "$WORK/music.f32" "$out" loop
}

# make_silence OUT SECONDS
make_silence() {
    local out=$1 secs=$2
    "${SOX[@]}" -n "${OUTFMT[@]}" "$out" trim 0 "$secs"
    echo "-inf -inf"
}

# make_speech OUT TEXT
make_speech() {
    local out=$1 text=$2
    # Text from a file, so a text starting with '-' is never an option.
    printf '%s\n' "$text" >"$WORK/text.txt"
    flite -voice "$VOICE" -f "$WORK/text.txt" -o "$WORK/raw.wav"
    # Trim silence at the start, then (reversed) at the end; high pass; 8 kHz.
    "${SOX[@]}" "$WORK/raw.wav" "${F32[@]}" "$WORK/speech.f32" \
        silence 1 0.005 "$TRIM_THRESHOLD" reverse \
        silence 1 0.005 "$TRIM_THRESHOLD" reverse \
        highpass "$HIGHPASS" rate -v "$RATE"
    [[ -s "$WORK/speech.f32" ]] || die "no speech produced for: $text"
    level "$WORK/speech.f32" "$out" "$TAIL"
}

# --- read the manifest ----------------------------------------------------------
# Everything is checked before any file is written.
num='[0-9]+([.][0-9]+)?'
declare -A TEXT=()
ORDER=()
lineno=0
header_seen=0
while IFS= read -r line || [[ -n "$line" ]]; do
    lineno=$((lineno + 1))
    line="${line%$'\r'}"
    [[ -z "${line//[[:space:]]/}" || "$line" == \#* ]] && continue
    if [[ $header_seen -eq 0 ]]; then
        [[ "$line" == $'name\ttext' ]] || die "$MANIFEST:$lineno: first line must be the header 'name<TAB>text'"
        header_seen=1
        continue
    fi
    [[ "$line" == *$'\t'* ]] || die "$MANIFEST:$lineno: no TAB between name and text"
    name="${line%%$'\t'*}"
    text="${line#*$'\t'}"
    [[ "$text" != *$'\t'* ]] || die "$MANIFEST:$lineno: more than one TAB"
    [[ "$name" =~ ^[A-Za-z0-9][A-Za-z0-9_-]*$ ]] || die "$MANIFEST:$lineno: bad prompt name '$name' (letters, digits, '-', '_')"
    [[ -n "${text//[[:space:]]/}" ]] || die "$MANIFEST:$lineno: empty text for '$name'"
    [[ -z "${TEXT[$name]+x}" ]] || die "$MANIFEST:$lineno: duplicate prompt name '$name'"
    if [[ "$text" == @* ]]; then
        [[ "$text" =~ ^@tone:$num:$num$ || "$text" =~ ^@chime:$num,$num:$num$ \
            || "$text" =~ ^@music:$num$ || "$text" =~ ^@silence:$num$ ]] \
            || die "$MANIFEST:$lineno: bad special text '$text' (want @tone:HZ:SECONDS, @chime:HZ,HZ:SECONDS, @music:SECONDS or @silence:SECONDS)"
    fi
    TEXT[$name]="$text"
    ORDER+=("$name")
done <"$MANIFEST"
[[ $header_seen -eq 1 ]] || die "$MANIFEST: empty"

if [[ $# -gt 0 ]]; then
    for name in "$@"; do
        [[ -n "${TEXT[$name]+x}" ]] || die "'$name' is not in $MANIFEST"
    done
    ORDER=("$@")
fi

# --- build ------------------------------------------------------------------------
printf '%-28s %8s %7s  %s\n' name LKFS peak text
for name in "${ORDER[@]}"; do
    text="${TEXT[$name]}"
    tmp="$WORK/out.wav"
    rm -f "$tmp"
    if [[ "$text" =~ ^@tone:($num):($num)$ ]]; then
        measured="$(make_tone "$tmp" "${BASH_REMATCH[1]}" "${BASH_REMATCH[3]}")"
    elif [[ "$text" =~ ^@chime:($num),($num):($num)$ ]]; then
        measured="$(make_chime "$tmp" "${BASH_REMATCH[1]}" "${BASH_REMATCH[3]}" "${BASH_REMATCH[5]}")"
    elif [[ "$text" =~ ^@music:($num)$ ]]; then
        measured="$(make_music "$tmp" "${BASH_REMATCH[1]}")"
    elif [[ "$text" =~ ^@silence:($num)$ ]]; then
        measured="$(make_silence "$tmp" "${BASH_REMATCH[1]}")"
    elif [[ "$text" == @* ]]; then
        die "$name: unknown special text '$text'"
    else
        measured="$(make_speech "$tmp" "$text")"
    fi
    mv -f "$tmp" "$PROMPTS/$name.wav"
    read -r lk pk <<<"$measured"
    printf '%-28s %8s %7s  %s\n' "$name" "$lk" "$pk" "$text"
done

# WAVs at the top of prompts/ that the manifest no longer names are left alone,
# but reported (tenant folders below prompts/ are not looked at).
if [[ $# -eq 0 ]]; then
    for f in "$PROMPTS"/*.wav; do
        [[ -e "$f" ]] || continue
        n="$(basename "$f" .wav)"
        [[ -n "${TEXT[$n]+x}" ]] || echo "make-prompts: warning: $f is not in the manifest" >&2
    done
fi
