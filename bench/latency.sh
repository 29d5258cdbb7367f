#!/usr/bin/env bash
# Alert latency on a live input (issue 5): a 20 s clip with a freeze, a black
# stretch and a silence is sent in real time over UDP (ffmpeg -re, MPEG-TS) and
# read from a file paced in real time; for each start event it prints how long
# after the defect began at the input it was emitted, beyond min_duration.
#
#   bench/latency.sh [--build DIR] [--runs N]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=$root/build
runs=3
while [ $# -gt 0 ]; do
    case $1 in
        --build) build=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        *) echo "usage: bench/latency.sh [--build DIR] [--runs N]" >&2; exit 2 ;;
    esac
done
[ -f "$build/build.ninja" ] || meson setup "$build" "$root" >/dev/null
ninja -C "$build" bench/latency >/dev/null
clip=$build/bench-latency.ts
if [ ! -f "$clip" ]; then
    # video: moving 0-5, frozen 5-9, moving 9-12, black 12-15, moving 15-20
    # audio: tone 0-14, silence 14-17, tone 17-20
    ffmpeg -nostdin -loglevel error -y \
        -filter_complex "testsrc2=s=640x360:r=25:d=5[a];\
testsrc2=s=640x360:r=25:d=6,trim=start_frame=125:end_frame=126,setpts=PTS-STARTPTS,\
loop=loop=99:size=1:start=0[b];testsrc2=s=640x360:r=25:d=3[c];\
color=c=black:s=640x360:r=25:d=3[d];testsrc2=s=640x360:r=25:d=5[e];\
[a][b][c][d][e]concat=n=5:v=1:a=0,format=yuv420p[v];\
sine=f=440:sample_rate=48000:d=14,volume=0.25[t1];anullsrc=r=48000:cl=mono:d=3[s];\
sine=f=440:sample_rate=48000:d=3,volume=0.25[t2];[t1][s][t2]concat=n=3:v=0:a=1[au]" \
        -map '[v]' -map '[au]' -c:v libx264 -preset ultrafast -g 25 -c:a aac -f mpegts "$clip"
fi
export VQA_PLUGIN_PATH=$build/plugins
echo "## Alert latency (freeze at 5 s, silence at 14 s, black at 12 s; min_duration 1 s)"
echo
for input in --udp --file; do
    for track in --video --audio; do
        "$build/bench/latency" "$input" "$track" --runs "$runs" "$clip"
        echo
    done
done
