#!/usr/bin/env bash
# libvqa's accuracy run: generate the labelled defect corpus, scan every item
# with libvqa's detectors at their defaults, run FFmpeg's own filters on the
# same items, and score both with the same rules. Prints a Markdown table.
#
#   bench/corpus/run.sh [--build DIR] [--corpus DIR] [--out FILE] [--regen]
#
# DIR defaults to build-accuracy (configured as a release build if missing);
# the corpus is kept in DIR/accuracy-corpus and made again only with --regen
# or when make.py is newer. Thresholds are never set per item: defaults only.
# See docs/accuracy.md for the corpus, the matching rules and the figures.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=build-accuracy
corpus=
out=
regen=0

while [ $# -gt 0 ]; do
    case "$1" in
        --build) build=${2:?}; shift 2 ;;
        --corpus) corpus=${2:?}; shift 2 ;;
        --out) out=${2:?}; shift 2 ;;
        --regen) regen=1; shift ;;
        -h|--help) sed -n '6,10p' "$0" | sed 's/^# *//'; exit 0 ;;
        *) echo "run.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
case "$build" in /*) ;; *) build="$root/$build" ;; esac
: "${corpus:=$build/accuracy-corpus}"
: "${out:=$build/accuracy.md}"

for tool in ffmpeg ffprobe python3 meson ninja; do
    command -v "$tool" >/dev/null || { echo "run.sh: '$tool' is missing" >&2; exit 1; }
done

if [ ! -f "$build/build.ninja" ]; then
    echo "run.sh: configuring $build (release)" >&2
    meson setup "$build" "$root" --buildtype=release -Dtests=false -Dexamples=false >&2
fi
ninja -C "$build" >"$build/accuracy-build.log" 2>&1 ||
    { tail -n 20 "$build/accuracy-build.log" >&2; echo "run.sh: build failed" >&2; exit 1; }
vqa="$build/tools/vqa"
export VQA_PLUGIN_PATH="$build/plugins" VQA_PLUGIN_SYSTEM_PATH=

if [ "$regen" = 1 ] || [ ! -f "$corpus/manifest.json" ] ||
   [ "$here/make.py" -nt "$corpus/manifest.json" ]; then
    echo "run.sh: generating the corpus in $corpus" >&2
    rm -rf "$corpus"
    python3 "$here/make.py" "$corpus"
fi

work="$build/accuracy-run"
mkdir -p "$work"
# Every item in one scan, named by its item so the events say which it is.
mapfile -t inputs < <(python3 -c '
import json, sys
for it in json.load(open(sys.argv[1] + "/manifest.json"))["items"]:
    print("%s=%s/%s" % (it["name"], sys.argv[1], it["file"]))' "$corpus")
echo "run.sh: libvqa on ${#inputs[@]} items" >&2
"$vqa" scan -o "$work/libvqa.jsonl" "${inputs[@]}" || true
# What libvqa can report: the kinds of the detectors loaded, plus the core's own.
"$vqa" plugins --json | python3 -c '
import json, sys
kinds = {"stream.gap", "stream.error"}
for p in json.load(sys.stdin)["plugins"]:
    for d in p["detectors"]:
        kinds.update(d["kinds"])
print("\n".join(sorted(kinds)))' >"$work/libvqa.kinds"

echo "run.sh: FFmpeg's filters on the same items" >&2
python3 "$here/peer.py" "$corpus" "$work/ffmpeg.jsonl" --kinds-out "$work/ffmpeg.kinds"

{
    ffmpeg_version=$(ffmpeg -hide_banner -version | awk 'NR == 1 { print $3 }')
    commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
    echo "Measured $(date -u +%Y-%m-%d) on FFmpeg $ffmpeg_version,"
    echo "libvqa $("$vqa" --version | awk '{ print $2 }') ($commit)."
    echo
    python3 "$here/score.py" "$corpus" --details \
        --system "libvqa=$work/libvqa.jsonl@$work/libvqa.kinds" \
        --system "FFmpeg=$work/ffmpeg.jsonl@$work/ffmpeg.kinds"
} | tee "$out"
echo "run.sh: written to $out" >&2
