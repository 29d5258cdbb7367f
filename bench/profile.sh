#!/usr/bin/env bash
# Where libvqa's CPU goes: profile one `vqa scan --threads 1` of a bench clip
# with perf (sampling) and print the shares by component (decode, conversion,
# each detector, core, kernel, start-up) and the hottest functions.
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
trap 'rm -f "$data" "$data.old"' EXIT
perf record -q -F "$freq" -g -o "$data" -- \
    "$vqa_bin" scan --threads 1 -q -o /dev/null "$clip" >/dev/null 2>&1

flat() {  # overhead dso symbol, one line per symbol, no call chains
    perf report -i "$data" --no-children --sort dso,sym --stdio -g none 2>/dev/null |
        awk '/^ *[0-9.]+%/ { pct = $1; sub("%", "", pct); dso = $2; $1 = ""; $2 = ""; $3 = "";
                            sub(/^ +/, ""); print pct "\t" dso "\t" $0 }'
}

echo "# vqa scan --threads 1, $res ${clip_s} s clip, perf at $freq Hz"
echo ""
echo "Detectors: $(detector_names)"
echo ""
echo "| component | share of CPU samples |"
echo "|---|---|"
flat | awk -F'\t' '
    function part(dso, sym) {
        if (dso ~ /^libavcodec/) return "decode (libavcodec)"
        if (dso ~ /^libavformat/) return "demux (libavformat)"
        if (dso ~ /^libswscale/) return "conversion (libswscale)"
        if (dso ~ /^libswresample/) return "conversion (libswresample, audio)"
        if (dso ~ /^libavutil/) return "libavutil (frames, buffers)"
        if (dso ~ /^vqa-/) { d = dso; sub(/^vqa-/, "", d); sub(/\.so.*/, "", d)
                             return "detector " d }
        if (dso ~ /^libebur128/) return "detector loudness (libebur128)"
        if (dso ~ /^libvqa/) {
            if (sym ~ /box|convert|proxy|share_planes|sws|swr|resample/)
                return "conversion (libvqa proxies)"
            return "libvqa core (bus, scheduler, events)"
        }
        if (dso ~ /^ld-linux/) return "start-up (dynamic loader)"
        if (dso ~ /kernel/) return "kernel (page faults, syscalls, scheduling)"
        if (dso ~ /^libc/) {
            if (sym ~ /memset|memcpy|memmove/) return "libc memset/memcpy"
            return "libc other (malloc, threads)"
        }
        if (dso ~ /^\[/) return "unresolved"
        return "other shared libraries (constructors at start-up)"
    }
    { share[part($2, $3)] += $1 }
    END { for (p in share) printf "| %s | %.1f %% |\n", p, share[p] }' | sort -t'|' -k3 -rn
echo ""
echo "Hottest named functions (libavcodec and libebur128 carry no symbols here):"
echo ""
echo "| share | object | function |"
echo "|---|---|---|"
flat | awk -F'\t' '$3 !~ /^0x/ && n++ < 20 { printf "| %s %% | %s | `%s` |\n", $1, $2, $3 }'
echo ""
echo "By thread (as the library names them; \`vqa\` is the main thread: start-up, plugin loading):"
echo ""
echo "| share | thread |"
echo "|---|---|"
perf report -i "$data" --no-children --sort comm --stdio -g none 2>/dev/null |
    awk '/^ *[0-9.]+%/ { printf "| %s | %s |\n", $1, $2 }'
