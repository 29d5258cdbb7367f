#!/usr/bin/env bash
# Where libvqa's work goes, in instructions: callgrind counts of one
# `vqa scan --threads 1` of a bench clip and of ffmpeg's decode-only run of
# the same clip, by component (decode, each detector, conversion, start-up,
# ...). Unlike CPU seconds, instruction counts do not move with the load of a
# shared machine, so two builds (two commits) can be compared exactly; they
# do not weigh SIMD width, cache misses or memory stalls, which perf
# (bench/profile.sh) and the timed runs (bench/run.sh) do.
#
#   bench/callgrind.sh [--build DIR] [--res 480p] [--seconds 10] [--no-ffmpeg]
#
# Needs valgrind. The clip is made by bench/clips.sh if missing, where
# bench/run.sh keeps its clips. Valgrind 3.19 cannot execute RDTSCP, which
# this kernel's vDSO clock and libhwy's constructor (loaded through
# libavcodec's JPEG XL support) use; the script preloads a small shim that
# sends clock calls to the system call and answers libhwy's timer query.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=build
res=480p
clip_s=10
with_ffmpeg=1

while [ $# -gt 0 ]; do
    case "$1" in
        --build) build=${2:?}; shift 2 ;;
        --res) res=${2:?}; shift 2 ;;
        --seconds) clip_s=${2:?}; shift 2 ;;
        --no-ffmpeg) with_ffmpeg=0; shift ;;
        -h|--help) sed -n '9p' "$0" | sed 's/^# *//'; exit 0 ;;
        *) echo "callgrind.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
case "$build" in /*) ;; *) build="$root/$build" ;; esac

# shellcheck source=bench/lib.sh
. "$here/lib.sh"
need valgrind callgrind_annotate ffmpeg awk "${CC:-cc}"
ensure_build "$build"
vqa_bin="$build/tools/vqa"
export VQA_PLUGIN_PATH="$build/plugins"
export VQA_PLUGIN_SYSTEM_PATH=

read -r w h <<<"$(resolution_size "$res")"
clip="$build/bench-clips/clip_${res}_${clip_s}s.mp4"
mkdir -p "$build/bench-clips"
[ -s "$clip" ] || "$here/clips.sh" "$clip" "$w" "$h" "$clip_s"

work=$(mktemp -d "${TMPDIR:-/tmp}/vqa-callgrind.XXXXXX")
trap 'rm -rf "$work"' EXIT
cat >"$work/shim.c" <<'EOF'
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
int clock_gettime(clockid_t c, struct timespec *ts) { return (int)syscall(SYS_clock_gettime, c, ts); }
int gettimeofday(struct timeval *restrict tv, void *restrict tz) { return (int)syscall(SYS_gettimeofday, tv, tz); }
unsigned long _ZN3hwy8platform15TimerResolutionEv(void);
unsigned long _ZN3hwy8platform15TimerResolutionEv(void) { return 1; }
EOF
"${CC:-cc}" -O2 -shared -fPIC -o "$work/shim.so" "$work/shim.c"

count() {  # OUT CMD...: callgrind the command into OUT
    local out=$1
    shift
    LD_PRELOAD="$work/shim.so" valgrind --tool=callgrind --callgrind-out-file="$out" "$@" \
        >/dev/null 2>"$out.log" || { tail -n 5 "$out.log" >&2; exit 1; }
}

components() {  # FILE -> "component \t instructions"
    callgrind_annotate --auto=no --threshold=100 "$1" 2>/dev/null | awk '
    /PROGRAM TOTALS/ { next }
    /^ *[0-9,]+ +\(/ {
        n = $1; gsub(",", "", n)
        fn = $(NF - 1); obj = $NF
        if (obj ~ /^\[/) { sub(/.*\//, "", obj); sub(/\]$/, "", obj) } else obj = "?"
        if (obj ~ /^libavcodec/) p = "decode (libavcodec: H.264 + AAC)"
        else if (obj ~ /^libavformat/) p = "demux (libavformat)"
        else if (obj ~ /^libavfilter/) p = "FFmpeg filters/null output (libavfilter)"
        else if (obj ~ /^libswresample/) p = "conversion (libswresample, audio)"
        else if (obj ~ /^libswscale/) p = "conversion (libswscale)"
        else if (obj ~ /^libavutil/) p = "libavutil (frames, buffers)"
        else if (obj ~ /^libebur128/) p = "detector loudness"
        else if (obj ~ /^vqa-/) { d = obj; sub(/^vqa-/, "", d); sub(/\.so.*/, "", d); p = "detector " d }
        else if (obj ~ /^libvqa/) p = (fn ~ /box|sum2|luma_base|convert|share_planes|resample/) \
                                      ? "conversion (libvqa proxies)" : "libvqa core (bus, scheduler, events)"
        else if (obj ~ /^ld-linux/) p = "start-up (dynamic loader)"
        else if (obj ~ /^libc\./) p = "libc"
        else if (obj ~ /^(vqa|ffmpeg)$/) p = "the program itself"
        else p = "other"
        t[p] += n
    }
    END { for (p in t) printf "%s\t%.0f\n", p, t[p] }'
}

count "$work/vqa.out" "$vqa_bin" scan --threads 1 -q -o /dev/null "$clip"
if [ "$with_ffmpeg" = 1 ]; then
    count "$work/ffmpeg.out" ffmpeg -nostdin -hide_banner -nostats -threads 1 -i "$clip" -f null -
else
    : >"$work/ffmpeg.out"
fi

# The commit measured is the build's source tree's, which need not be this one.
src=$(sed -n 's/.*"source": *"\([^"]*\)".*/\1/p' "$build/meson-info/meson-info.json" | head -n 1)
src_state=$(root=${src:-$root} source_state)
echo "# Instructions (callgrind): $res ${clip_s} s clip, libvqa $src_state"
echo ""
echo "| component | vqa scan --threads 1: M instr | share | ffmpeg -threads 1 -f null: M instr |"
echo "|---|---|---|---|"
awk -F'\t' 'FNR == 1 { f++ }
    f == 1 { vqa[$1] = $2; tv += $2; seen[$1] = 1 }
    f == 2 { ff[$1] = $2; tf += $2; seen[$1] = 1 }
    END {
        for (p in seen)
            printf "| %s | %.0f | %.1f %% | %s |\n", p, vqa[p] / 1e6, 100 * vqa[p] / tv,
                   tf ? sprintf("%.0f", ff[p] / 1e6) : "-"
        printf "| **total** | **%.0f** | 100 %% | **%s** |\n", tv / 1e6,
               tf ? sprintf("%.0f", tf / 1e6) : "-"
    }' <(components "$work/vqa.out") <(if [ -s "$work/ffmpeg.out" ]; then components "$work/ffmpeg.out"; fi) |
    sort -t'|' -k3 -rn
