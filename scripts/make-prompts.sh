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
#   @tone:HZ:SECONDS   sine tone at about -9 dBFS peak, 5 ms ramps at both ends
#   @silence:SECONDS   digital silence
# Anything else is spoken with espeak-ng.
#
# Output: prompts/<name>.wav, 8000 Hz, 16-bit signed PCM, mono.
# Spoken prompts: leading/trailing silence trimmed, resampled to 8 kHz,
# 3 ms ramps at both edges, brought to a common RMS level (TARGET_RMS_DB, peak never above PEAK_MAX_DB),
# then a 50 ms tail of silence. The output is deterministic (no dither), so
# running the script twice gives byte-identical files.
#
# Needs: espeak-ng, sox (Debian packages espeak-ng and sox).
set -euo pipefail
export LC_ALL=C

# --- settings -----------------------------------------------------------------
VOICE=en-us          # espeak-ng voice (ships with the espeak-ng-data package)
SPEED=150            # words per minute
PITCH=50             # espeak-ng default
RATE=8000            # output sample rate
TARGET_RMS_DB=-20    # RMS level of each spoken prompt, dBFS
PEAK_MAX_DB=-1       # the gain is capped so no peak goes above this, dBFS
TONE_DB=-9           # peak level of @tone prompts, dBFS
TAIL=0.05            # seconds of silence kept after a spoken prompt
TRIM_THRESHOLD=0.1%  # sox 'silence' threshold for trimming (about -60 dBFS)

# --- paths --------------------------------------------------------------------
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROMPTS="$ROOT/prompts"
MANIFEST="$PROMPTS/manifest.tsv"

die() { echo "make-prompts: $*" >&2; exit 1; }

for tool in espeak-ng sox; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (apt-get install espeak-ng sox)"
done
[[ -f "$MANIFEST" ]] || die "$MANIFEST not found"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# sox: -D no dither (deterministic, and silence stays digital zero),
#      -R repeatable mode, -V1 only errors.
SOX=(sox -D -R -V1)
OUTFMT=(-r "$RATE" -c 1 -b 16 -e signed-integer -t wav)

# make_tone OUT HZ SECONDS
make_tone() {
    local out=$1 hz=$2 secs=$3
    "${SOX[@]}" -n "${OUTFMT[@]}" "$out" \
        synth "$secs" sine "$hz" gain "$TONE_DB" fade h 0.005 "$secs" 0.005
}

# make_silence OUT SECONDS
make_silence() {
    local out=$1 secs=$2
    "${SOX[@]}" -n "${OUTFMT[@]}" "$out" trim 0 "$secs"
}

# make_speech OUT TEXT
make_speech() {
    local out=$1 text=$2
    local raw="$WORK/raw.wav" mid="$WORK/mid.wav"
    # Text on standard input, so a text starting with '-' is never an option.
    printf '%s\n' "$text" | espeak-ng -v "$VOICE" -s "$SPEED" -p "$PITCH" --stdin -w "$raw"
    # Trim silence at the start, then (reversed) at the end; resample to 8 kHz.
    # Kept as 32-bit float so the level step below rounds only once.
    "${SOX[@]}" "$raw" -r "$RATE" -c 1 -b 32 -e floating-point -t wav "$mid" \
        silence 1 0.005 "$TRIM_THRESHOLD" reverse \
        silence 1 0.005 "$TRIM_THRESHOLD" reverse \
        rate -v "$RATE"
    # Measure RMS and peak, pick one gain: RMS to target, capped by the peak limit.
    local stats rms pk gain
    stats="$("${SOX[@]}" "$mid" -n stats 2>&1)"
    rms="$(awk '/^RMS lev dB/ {print $4}' <<<"$stats")"
    pk="$(awk '/^Pk lev dB/ {print $4}' <<<"$stats")"
    [[ -n "$rms" && -n "$pk" && "$rms" != "-inf" ]] || die "no speech produced for: $text"
    gain="$(awk -v t="$TARGET_RMS_DB" -v m="$PEAK_MAX_DB" -v r="$rms" -v p="$pk" \
        'BEGIN { g = t - r; if (p + g > m) g = m - p; printf "%.2f", g }')"
    # A 3 ms ramp at both cut edges avoids clicks where the trim cut into sound.
    "${SOX[@]}" "$mid" "${OUTFMT[@]}" "$out" fade h 0.003 -0 0.003 gain "$gain" pad 0 "$TAIL"
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
        [[ "$text" =~ ^@tone:$num:$num$ || "$text" =~ ^@silence:$num$ ]] \
            || die "$MANIFEST:$lineno: bad special text '$text' (want @tone:HZ:SECONDS or @silence:SECONDS)"
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
for name in "${ORDER[@]}"; do
    text="${TEXT[$name]}"
    tmp="$WORK/out.wav"
    rm -f "$tmp"
    if [[ "$text" == @tone:* ]]; then
        [[ "$text" =~ ^@tone:($num):($num)$ ]] || die "$name: bad tone '$text' (want @tone:HZ:SECONDS)"
        make_tone "$tmp" "${BASH_REMATCH[1]}" "${BASH_REMATCH[3]}"
    elif [[ "$text" == @silence:* ]]; then
        [[ "$text" =~ ^@silence:($num)$ ]] || die "$name: bad silence '$text' (want @silence:SECONDS)"
        make_silence "$tmp" "${BASH_REMATCH[1]}"
    elif [[ "$text" == @* ]]; then
        die "$name: unknown special text '$text'"
    else
        make_speech "$tmp" "$text"
    fi
    mv -f "$tmp" "$PROMPTS/$name.wav"
    printf '%-16s %s\n' "$name" "$text"
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
