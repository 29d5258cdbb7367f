#!/usr/bin/env bash
# libvqa's benchmark: what watching one stream costs with libvqa, next to the
# cost of only decoding it, of FFmpeg's own detection filters, and of the
# "distributed" design that hands every frame to another process as an image;
# then how many streams one process carries. Everything is measured in this
# run, on the same clips, as whole processes (user + system CPU seconds and
# peak RSS from GNU time), so start-up is included for every contender.
#
#   bench/run.sh [--build DIR] [--quick] [--res 480p,1080p] [--runs N]
#                [--max-streams N] [--clips DIR] [--out FILE]
#
#   --build DIR        meson build dir (default build; configured as release
#                      and built if missing, always brought up to date)
#   --quick            10 s clips, 3 runs, at most 8 streams (~2-3 min);
#                      default: 30 s clips, 5 runs, up to 64 streams (~10-15 min)
#   --res LIST         comma-separated: 240p 360p 480p 720p 1080p 2160p or WxH
#   --runs N           runs of libvqa and decode-only (medians are reported)
#   --max-streams N    largest stream count of the many-stream run
#   --clips DIR        where the clips are kept (default DIR/bench-clips)
#   --out FILE         also write the report there (default DIR/bench-results.md)
#
# It prints Markdown tables and PASS/FAIL against the targets of issue 4.
# A benchmark reports; its exit status is 0 whatever the figures are.
# See docs/performance.md for the method and the figures of a full run.
set -euo pipefail

# Everything runs inside main so that editing this file during a run (bash
# reads scripts as it goes) cannot change the run.
main() {
    here=$(cd "$(dirname "$0")" && pwd)
    root=$(cd "$here/.." && pwd)

    build=build
    quick=0
    res_list=480p,1080p
    runs=
    max_streams=
    clips_dir=
    out_file=

    usage() {
        sed -n '9,20p' "$0" | sed 's/^# \{0,1\}//'
        exit "${1:-0}"
    }

    while [ $# -gt 0 ]; do
        case "$1" in
            --build) build=${2:?}; shift 2 ;;
            --quick) quick=1; shift ;;
            --res) res_list=${2:?}; shift 2 ;;
            --runs) runs=${2:?}; shift 2 ;;
            --max-streams) max_streams=${2:?}; shift 2 ;;
            --clips) clips_dir=${2:?}; shift 2 ;;
            --out) out_file=${2:?}; shift 2 ;;
            -h|--help) usage 0 ;;
            *) echo "run.sh: unknown argument '$1'" >&2; usage 2 ;;
        esac
    done

    if [ "$quick" = 1 ]; then
        clip_s=10; : "${runs:=3}"; : "${max_streams:=8}"; many_runs=1
    else
        clip_s=30; : "${runs:=5}"; : "${max_streams:=64}"; many_runs=3
    fi

    case "$build" in /*) ;; *) build="$root/$build" ;; esac
    : "${clips_dir:=$build/bench-clips}"
    : "${out_file:=$build/bench-results.md}"

    # shellcheck source=bench/lib.sh
    . "$here/lib.sh"

    need /usr/bin/time ffmpeg awk
    ensure_build "$build"
    vqa_bin="$build/tools/vqa"
    export VQA_PLUGIN_PATH="$build/plugins"
    export VQA_PLUGIN_SYSTEM_PATH=

    # Frames handed between processes go to tmpfs when there is one: the most
    # favourable transport the distributed design could have.
    if [ -d /dev/shm ] && [ -w /dev/shm ]; then shm=/dev/shm; else shm=${TMPDIR:-/tmp}; fi
    work=$(mktemp -d "$shm/vqa-bench.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    mkdir -p "$clips_dir"
    : >"$out_file"

    say() { printf '%s\n' "$*" | tee -a "$out_file"; }

    say "# libvqa benchmark ($( [ "$quick" = 1 ] && echo quick || echo full ) run, $(date -u '+%Y-%m-%d %H:%M UTC'))"
    say ""
    machine_description | while IFS= read -r line; do say "$line"; done
    say ""
    say "Load average at the start (1, 5, 15 min): $(cut -d' ' -f1-3 /proc/loadavg)." \
        "CPU seconds are trustworthy only when it stays well below $(nproc)."
    say "Clips: ${clip_s} s, 30 fps H.264 High + AAC stereo (bench/clips.sh), resolutions: $res_list."
    say "CPU = user + system seconds of the whole process (GNU time), start-up included."
    say "libvqa and decode-only: median of $runs runs, alternated run by run; FFmpeg chain and"
    say "image hand-off: 1 run each (they cost 10-100x more). Peak RSS of the largest process."
    say ""

    # --- per-resolution comparison ------------------------------------------------------------
    detector_list=$(detector_names || true)
    say "Detectors run by libvqa (every default detector found): ${detector_list:-?}"
    say ""
    say "| clip | pipeline | runs | CPU s | wall s | x decode-only | peer / libvqa | peak RSS MiB |"
    say "|---|---|---|---|---|---|---|---|"

    targets=()
    IFS=, read -r -a resolutions <<<"$res_list"
    for res in "${resolutions[@]}"; do
        read -r w h <<<"$(resolution_size "$res")"
        clip="$clips_dir/clip_${res}_${clip_s}s.mp4"
        if [ ! -s "$clip" ]; then
            echo "run.sh: making $clip" >&2
            "$here/clips.sh" "$clip" "$w" "$h" "$clip_s"
        fi
        compare_one "$res" "$clip"
    done

    # --- many streams in one process -------------------------------------------------------------
    many_streams
    say ""
    say "## Targets (issue 4)"
    say ""
    for t in "${targets[@]}"; do say "$t"; done
    say ""
    say "Load average at the end (1, 5, 15 min): $(cut -d' ' -f1-3 /proc/loadavg);" \
        "whole run: $((SECONDS / 60)) min $((SECONDS % 60)) s."
    echo "run.sh: results also written to $out_file" >&2
}

main "$@"
