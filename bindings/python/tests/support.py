"""What the binding's tests share: the build's paths (from meson's test
environment), media made with ffmpeg, and the tool's output."""
import json
import os
import subprocess
import tempfile

FFMPEG_TIMEOUT_S = 120
TOOL_TIMEOUT_S = 120


def build_path(name):
    """A path meson put in the environment (bindings/python/tests/meson.build)."""
    value = os.environ.get(name)
    if not value:
        raise RuntimeError("%s is not set: run these tests through `meson test`" % name)
    return value


def tool():
    """The build's vqa tool, or None when the build has no tools."""
    return os.environ.get("VQA_TEST_TOOL") or None


def run_tool(*args):
    """Run the vqa tool. @return (exit status, stdout lines, stderr)."""
    out = subprocess.run([tool(), *args], capture_output=True, text=True,
                         timeout=TOOL_TIMEOUT_S, check=False)
    return out.returncode, out.stdout.splitlines(), out.stderr


def ffmpeg(*args):
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args]
    subprocess.run(cmd, check=True, timeout=FFMPEG_TIMEOUT_S)


# As tests/media.c's media_make_defect_clip: 10 s, 320x240 at 25 fps, frozen
# over [3, 6), black over [6, 8); 48 kHz stereo tone at -12 dBFS, silent over [4, 7).
DEFECT_GRAPH = (
    "testsrc2=s=320x240:r=25:d=3[v1];"
    "testsrc2=s=320x240:r=25:d=4,trim=start_frame=75:end_frame=76,"
    "setpts=PTS-STARTPTS,loop=loop=74:size=1:start=0[v2];"
    "color=c=black:s=320x240:r=25:d=2[v3];"
    "testsrc2=s=320x240:r=25:d=10,trim=start=8,setpts=PTS-STARTPTS[v4];"
    "[v1][v2][v3][v4]concat=n=4:v=1:a=0,format=yuv420p[v];"
    "aevalsrc='if(gte(t,4)*lt(t,7),0,0.25*sin(2*PI*440*t))':s=48000:c=stereo:d=10[a]")


def make_defect_clip(path):
    ffmpeg("-filter_complex", DEFECT_GRAPH, "-map", "[v]", "-map", "[a]",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25",
           "-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2",
           "-movflags", "+faststart", path)
    return path


def temp_dir():
    return tempfile.TemporaryDirectory(prefix="vqa-python-")


def canonical(events):
    """Events as sorted canonical JSON: equal lists hold the same events."""
    return sorted(json.dumps(e, sort_keys=True) for e in events)


def by_detector(events):
    """Each detector's events in delivered order (the contract's ordering unit)."""
    out = {}
    for e in events:
        out.setdefault((e["stream"], e["detector"]), []).append(e)
    return out


def intervals(events, kind):
    """[(start t, end t)] of one kind, pairing each start with its end."""
    starts, out = {}, []
    for e in events:
        if e["kind"] != kind:
            continue
        key = (e["stream"], e["detector"])
        if e["state"] == "start":
            starts[key] = e["t"]
        elif e["state"] == "end":
            out.append((starts.pop(key), e["t"]))
    return out
