#!/usr/bin/env bash
# Where libvqa's CPU goes: profile one `vqa scan --threads 1` of a bench clip
# with perf (sampling), and ffmpeg's decode-only run of the same clip for
# reference, and print CPU seconds by component (decode, conversion, each
# detector, core, kernel, start-up) and the hottest functions.
#
#   bench/profile.sh [--build DIR] [--res 480p] [--seconds 30] [--freq HZ]
#
# Needs perf (linux-perf). The clip is made by bench/clips.sh if missing, in
# the same place bench/run.sh keeps its clips.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=build
res=480p
clip_s=30
freq=4999

while [ $# -gt 0 ]; do
    case "$1" in
        --build) build=${2:?}; shift 2 ;;
        --res) res=${2:?}; shift 2 ;;
        --seconds) clip_s=${2:?}; shift 2 ;;
        --freq) freq=${2:?}; shift 2 ;;
        -h|--help) sed -n '6p' "$0" | sed 's/^# *//'; exit 0 ;;
        *) echo "profile.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
case "$build" in /*) ;; *) build="$root/$build" ;; esac

# shellcheck source=bench/lib.sh
. "$here/lib.sh"
need perf ffmpeg awk
ensure_build "$build"
vqa_bin="$build/tools/vqa"
export VQA_PLUGIN_PATH="$build/plugins"
export VQA_PLUGIN_SYSTEM_PATH=

read -r w h <<<"$(resolution_size "$res")"
clip="$build/bench-clips/clip_${res}_${clip_s}s.mp4"
mkdir -p "$build/bench-clips"
[ -s "$clip" ] || "$here/clips.sh" "$clip" "$w" "$h" "$clip_s"

data=$(mktemp "${TMPDIR:-/tmp}/vqa-perf.XXXXXX")
ref="$data.ffmpeg"
trap 'rm -f "$data" "$data.old" "$ref" "$ref.old"' EXIT
perf record -q -F "$freq" -o "$data" -- \
    "$vqa_bin" scan --threads 1 -q -o /dev/null "$clip" >/dev/null 2>&1
perf record -q -F "$freq" -o "$ref" -- \
    ffmpeg -hide_banner -nostdin -nostats -threads 1 -i "$clip" -f null - >/dev/null 2>&1

flat() {  # FILE -> "seconds \t dso \t symbol", one line per symbol (cpu-clock samples)
    perf report -i "$1" --no-children --sort dso,sym -n --stdio -g none 2>/dev/null |
        awk -v hz="$freq" '/^ *[0-9.]+%/ { n = $2; dso = $3; $1 = ""; $2 = ""; $3 = ""; $4 = "";
                                           sub(/^ +/, ""); printf "%.6f\t%s\t%s\n", n / hz, dso, $0 }'
}

components() {  # FILE -> "component \t seconds"
    flat "$1" | awk -F'\t' '
    function part(dso, sym) {
        if (dso ~ /^libavcodec/) return "decode (libavcodec: H.264 + AAC)"
        if (dso ~ /^libavformat/) return "demux (libavformat)"
        if (dso ~ /^libavfilter/) return "FFmpeg filters/null output (libavfilter)"
        if (dso ~ /^libswscale/) return "conversion (libswscale)"
        if (dso ~ /^libswresample/) return "conversion (libswresample, audio)"
        if (dso ~ /^libavutil/) return "libavutil (frames, buffers)"
        if (dso ~ /^vqa-/) { d = dso; sub(/^vqa-/, "", d); sub(/\.so.*/, "", d)
                             return "detector " d }
        if (dso ~ /^libebur128/) return "detector loudness"
        if (dso ~ /^libvqa/) {
            if (sym ~ /box|sum2|luma_base|convert|proxy|share_planes|sws|swr|resample/)
                return "conversion (libvqa proxies)"
            return "libvqa core (bus, scheduler, events)"
        }
        if (dso ~ /^ld-linux/) return "start-up (dynamic loader)"
        if (dso ~ /kernel/) return "kernel (page faults, syscalls, scheduling)"
        if (dso ~ /^libc/) {
            if (sym ~ /memset|memcpy|memmove/) return "libc memset/memcpy"
            return "libc other (malloc, threads)"
        }
        if (dso ~ /^(vqa|ffmpeg)$/) return "the program itself"
        if (dso ~ /^\[/) return "unresolved"
        return "other shared libraries (constructors at start-up)"
    }
    { t[part($2, $3)] += $1 }
    END { for (p in t) printf "%s\t%.6f\n", p, t[p] }'
}

echo "# Where vqa's CPU goes: $res ${clip_s} s clip, perf cpu-clock at $freq Hz"
echo ""
echo "Detectors: $(detector_names)"
echo ""
echo "| component | vqa scan --threads 1: CPU s | share | ffmpeg -threads 1 -f null: CPU s |"
echo "|---|---|---|---|"
awk -F'\t' 'FNR == 1 { f++ }
    f == 1 { vqa[$1] = $2; tv += $2; seen[$1] = 1 }
    f == 2 { ff[$1] = $2; tf += $2; seen[$1] = 1 }
    END {
        for (p in seen)
            printf "| %s | %.3f | %.1f %% | %.3f |\n", p, vqa[p], 100 * vqa[p] / tv, ff[p]
        printf "| **total** | **%.3f** | 100 %% | **%.3f** |\n", tv, tf
    }' <(components "$data") <(components "$ref") | sort -t'|' -k3 -rn
echo ""
echo "Hottest named functions in vqa (libavcodec and libebur128 carry no symbols here):"
echo ""
echo "| CPU s | object | function |"
echo "|---|---|---|"
flat "$data" | sort -t$'\t' -k1 -rn |
    awk -F'\t' '$3 !~ /^0x/ && n++ < 20 { printf "| %.3f | %s | `%s` |\n", $1, $2, $3 }'
echo ""
echo "By thread (as the library names them; \`vqa\` is the main thread: start-up, plugin loading):"
echo ""
echo "| share | thread |"
echo "|---|---|"
perf report -i "$data" --no-children --sort comm --stdio -g none 2>/dev/null |
    awk '/^ *[0-9.]+%/ { printf "| %s | %s |\n", $1, $2 }'
