#!/usr/bin/env bash
# Build libvqa and show it at work: make a 30 s clip with known defects,
# scan it with the vqa tool, print the events and a summary per kind.
#
#   ./scripts/demo.sh            (VQA_BUILD_DIR=dir to build elsewhere than build/)
set -euo pipefail
cd "$(dirname "$0")/.."

build=${VQA_BUILD_DIR:-build}

./scripts/setup.sh

if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build"
fi
ninja -C "$build"

mkdir -p "$build/demo"
clip=$build/demo/sample.mp4
events=$build/demo/events.jsonl

cat <<'TRUTH'
== The sample clip (30 s, 640x360, 25 fps, H.264 + AAC stereo 48 kHz) holds:
   video.freeze   8.0 – 12.0 s   (one picture held for 4 s)
   video.black   15.0 – 18.0 s
   audio.silence 20.0 – 23.5 s   (the rest is a 440 Hz tone at -12 dBFS)
TRUTH

# Each video part is its own source so the boundaries fall on whole frames;
# the frozen part holds testsrc2's picture at 8 s (frame 200) for 100 frames.
graph="testsrc2=s=640x360:r=25:d=8[v1];\
testsrc2=s=640x360:r=25:d=9,trim=start_frame=200:end_frame=201,setpts=PTS-STARTPTS,\
loop=loop=99:size=1:start=0[v2];\
testsrc2=s=640x360:r=25:d=15,trim=start=12,setpts=PTS-STARTPTS[v3];\
color=c=black:s=640x360:r=25:d=3[v4];\
testsrc2=s=640x360:r=25:d=30,trim=start=18,setpts=PTS-STARTPTS[v5];\
[v1][v2][v3][v4][v5]concat=n=5:v=1:a=0,format=yuv420p[v];\
aevalsrc='if(gte(t\,20)*lt(t\,23.5)\,0\,0.25*sin(2*PI*440*t))':s=48000:c=stereo:d=30[a]"

if [ ! -s "$clip" ]; then
    ffmpeg -nostdin -hide_banner -loglevel error -y -filter_complex "$graph" \
        -map '[v]' -map '[a]' -c:v libx264 -preset veryfast -g 50 -pix_fmt yuv420p \
        -c:a aac -b:a 128k "$clip"
fi

echo "== vqa scan $clip"
status=0
VQA_PLUGIN_PATH="$build/plugins" VQA_PLUGIN_SYSTEM_PATH='' \
    "$build/tools/vqa" scan "$clip" >"$events" || status=$?
cat "$events"

echo "== Summary (exit status $status)"
# A tiny reader for the fields we need; the first occurrence of a key is the
# top-level one because the tool writes "details" last.
awk '
function field(line, key,    i, rest) {
    i = index(line, "\"" key "\":")
    if (i == 0) return ""
    rest = substr(line, i + length(key) + 3)
    if (substr(rest, 1, 1) == "\"") {
        rest = substr(rest, 2)
        return substr(rest, 1, index(rest, "\"") - 1)
    }
    if (match(rest, /^-?[0-9.eE+-]+/)) return substr(rest, 1, RLENGTH)
    return ""
}
{
    kind = field($0, "kind"); state = field($0, "state")
    if (state == "end") {
        d = field($0, "duration") + 0; t = field($0, "t") + 0
        n[kind]++; found++; total[kind] += d
        spans[kind] = spans[kind] sprintf(" [%.2f, %.2f)", t - d, t)
    } else if (state == "instant") {
        n[kind]++; found++; spans[kind] = spans[kind] sprintf(" @%.2f", field($0, "t") + 0)
    }
}
END {
    if (found == 0) print "   no defect found"
    for (k in n) printf "   %-16s %d event(s), %.2f s in all:%s\n", k, n[k], total[k], spans[k]
}' "$events"
exit "$status"
