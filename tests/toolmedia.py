"""Shared by the Python tests of the vqa tool: the standard defect clip
(the same media as media_make_defect_clip in media.c) and small helpers."""
import json
import subprocess

# What the clip holds (see media.h): video 0-3 s moving, 3-6 s frozen,
# 6-8 s black, 8-10 s moving; audio a -12 dBFS sine but 4-7 s silent.
CLIP_DURATION_S = 10.0
CLIP_FPS = 25
FREEZE_START_S = 3.0
BLACK_START_S = 6.0
SILENCE_START_S, SILENCE_END_S = 4.0, 7.0
SINE_PEAK_DBFS = -12.0

_GRAPH = (
    "testsrc2=s=320x240:r=25:d=3[v1];"
    "testsrc2=s=320x240:r=25:d=4,trim=start_frame=75:end_frame=76,"
    "setpts=PTS-STARTPTS,loop=loop=74:size=1:start=0[v2];"
    "color=c=black:s=320x240:r=25:d=2[v3];"
    "testsrc2=s=320x240:r=25:d=10,trim=start=8,setpts=PTS-STARTPTS[v4];"
    "[v1][v2][v3][v4]concat=n=4:v=1:a=0,format=yuv420p[v];"
    "aevalsrc='if(gte(t\\,4)*lt(t\\,7)\\,0\\,0.25*sin(2*PI*440*t))'"
    ":s=48000:c=stereo:d=10[a]")


def ffmpeg(*args, **kw):
    """Run ffmpeg quietly; raise on failure. Returns its standard output."""
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args]
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, timeout=120, **kw).stdout


def make_defect_clip(path):
    ffmpeg("-filter_complex", _GRAPH, "-map", "[v]", "-map", "[a]",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25",
           "-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2",
           "-movflags", "+faststart", path)


def read_events(path):
    """The tool's JSON Lines, parsed; every line must be an event."""
    events = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            ev = json.loads(line)
            for key in ("stream", "detector", "kind", "state", "t"):
                if key not in ev:
                    raise ValueError(f"line {n}: no '{key}': {line!r}")
            events.append(ev)
    return events


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)
