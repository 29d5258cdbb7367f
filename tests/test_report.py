#!/usr/bin/env python3
"""`vqa scan --report`: the HTML report of the defect clip (under a file name
full of HTML metacharacters, and with a fixture plugin whose kind and
details are HTML) and of an input that does not exist.

Checked on the file itself: no reference to anything outside it, names
escaped, a thumbnail per video defect showing the right picture, audio
levels that match the clip's sine and silence, a timeline bar per defect.
Checked in headless Chromium: a screenshot that is not blank, and in the
DOM the browser built, one table row per event of the scan.

  test_report.py VQA_TOOL HOSTILE_PLUGIN_DIR     (VQA_PLUGIN_PATH from the environment)
Exit 0 pass, 1 fail, 77 skip (only when no Chromium is installed).
"""
import base64
import html.parser
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import toolmedia as tm  # noqa: E402
from toolmedia import check  # noqa: E402

SKIP = 77
HOSTILE_NAME = "a<i>b&amp;\"q'.mp4"
HOSTILE_ESCAPED = "a&lt;i&gt;b&amp;amp;&quot;q&#39;.mp4"
HOSTILE_KIND = "x-hostile.<b>\"'&amp;"  # tests/hostile/hostile.c
BROWSER_TIMEOUT_S = 180
THUMB_W, THUMB_H = 240, 180


class Element:
    def __init__(self, tag, attrs):
        self.tag = tag
        self.attrs = dict(attrs)
        self.classes = (self.attrs.get("class") or "").split()


class Collect(html.parser.HTMLParser):
    """Every element with its attributes, and the text of <style> blocks."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements = []
        self.style_text = ""
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.elements.append(Element(tag, attrs))
        self._in_style = tag == "style"

    def handle_startendtag(self, tag, attrs):
        self.elements.append(Element(tag, attrs))

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.style_text += data

    def find(self, tag=None, cls=None):
        return [e for e in self.elements
                if (tag is None or e.tag == tag) and (cls is None or cls in e.classes)]


def parse(text):
    p = Collect()
    p.feed(text)
    p.close()
    return p


def run_tool(vqa, args, stderr_path):
    with open(stderr_path, "wb") as err:
        return subprocess.run([vqa, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=err, timeout=300).returncode


def same_t(a, b):
    return abs(float(a) - float(b)) < 1e-9


def check_self_contained(text, dom):
    """Nothing outside the file is referenced, and the CSP forbids fetching anyway."""
    low = text.lower()
    check("http://" not in low and "https://" not in low, "the report names an http(s) URL")
    check("url(" not in dom.style_text and "@import" not in dom.style_text,
          "the style refers to a resource")
    for e in dom.elements:
        check(e.tag not in ("link", "iframe", "object", "embed", "base", "frame"),
              f"the report has a <{e.tag}> element")
        for name in ("src", "href", "xlink:href", "action", "poster", "data", "srcset"):
            value = e.attrs.get(name)
            if value is None:
                continue
            check(value.startswith("data:") or value.startswith("#"),
                  f"<{e.tag} {name}=\"{value[:60]}\"> points outside the file")
    csp = [e for e in dom.find("meta")
           if (e.attrs.get("http-equiv") or "").lower() == "content-security-policy"]
    check(csp and "default-src 'none'" in csp[0].attrs.get("content", ""),
          "no Content-Security-Policy forbidding fetches")


def check_escaping(text, dom, where):
    """Names and plugin output are text: no element or attribute came out of them."""
    if text is not None:
        check(HOSTILE_ESCAPED in text, "the hostile file name is not escaped as expected")
        check(HOSTILE_NAME not in text, "the hostile file name appears unescaped")
        check("<b>" not in text and "<img src=//x" not in text, "plugin markup unescaped")
    for tag in ("i", "b"):
        check(not dom.find(tag), f"{where}: a <{tag}> element came out of a name or a kind")
    check(len(dom.find("script")) == 1, f"{where}: {len(dom.find('script'))} <script> elements")
    imgs = [e for e in dom.find("img") if not e.attrs.get("src", "").startswith("data:")]
    check(not imgs, f"{where}: an <img> that is not a thumbnail")
    for e in dom.elements:
        bad = [a for a in e.attrs if a.startswith("on")]
        check(not bad, f"{where}: <{e.tag}> has event handler attributes {bad}")
    # Attribute values round-trip: the parser gives back the kind as the plugin wrote it.
    tagged = [e for e in dom.elements if e.attrs.get("data-kind") == HOSTILE_KIND]
    check(len(tagged) >= 3, f"{where}: the hostile kind is in {len(tagged)} data-kind attributes")


def check_rows(dom, events, where):
    """One table row per event, matched on stream, detector, kind, state and t."""
    rows = [e.attrs for e in dom.find("tr", "ev")]
    check(len(rows) == len(events), f"{where}: {len(rows)} event rows for {len(events)} events")
    left = list(rows)
    for ev in events:
        match = next((r for r in left
                      if r.get("data-stream") == ev["stream"]
                      and r.get("data-detector") == ev["detector"]
                      and r.get("data-kind") == ev["kind"]
                      and r.get("data-state") == ev["state"]
                      and same_t(r.get("data-t", "nan"), ev["t"])), None)
        check(match is not None, f"{where}: no row for event {ev}")
        left.remove(match)


def check_timeline(dom, events):
    bars = [e.attrs for e in dom.find("a", "seg")]
    marks = [e.attrs for e in dom.find("a", "mark")]
    for ev in events:
        if ev["state"] == "end":
            continue
        pool = bars if ev["state"] == "start" else marks
        check(any(b.get("data-kind") == ev["kind"] and same_t(b.get("data-t"), ev["t"])
                  for b in pool), f"no timeline bar or mark for {ev}")
    for ev in events:
        if ev["state"] == "end":  # the bar of a pair ends at the end event
            start = ev["t"] - ev["duration"]
            check(any(b.get("data-kind") == ev["kind"] and abs(float(b["data-t"]) - start) < 1e-6
                      and abs(float(b["data-end"]) - ev["t"]) < 1e-6 for b in bars),
                  f"no timeline bar ending with {ev}")


def gray_mean_and_pixels(jpeg_path, w, h):
    raw = tm.ffmpeg("-i", jpeg_path, "-vf", f"scale={w}:{h}", "-f", "rawvideo",
                    "-pix_fmt", "gray", "-")
    check(len(raw) == w * h, f"{jpeg_path}: decoded {len(raw)} bytes, expected {w * h}")
    return sum(raw) / len(raw), raw


def reference_frame(clip, t, w, h, tmp):
    out = os.path.join(tmp, f"ref-{t}.png")
    tm.ffmpeg("-ss", str(t), "-i", clip, "-frames:v", "1", "-vf", f"scale={w}:{h}", out)
    return gray_mean_and_pixels(out, w, h)[1]


def mad(a, b):
    return sum(abs(x - y) for x, y in zip(a, b)) / len(a)


def check_thumbnails(dom, events, clip, tmp):
    """A picture per video defect: the black one dark, the freeze one the frozen frame."""
    figures = dom.find("figure", "thumb")
    video = [ev for ev in events if ev["state"] != "end"
             and (ev["kind"].startswith("video.") or ev["detector"] == "hostile")]
    check(len(figures) == len(video), f"{len(figures)} thumbnails for {len(video)} video defects")
    imgs = dom.find("img")
    check(len(imgs) == len(video), f"{len(imgs)} <img> for {len(video)} video defects")
    thumbs = {}
    for fig, img in zip(figures, imgs):
        src = img.attrs.get("src", "")
        check(src.startswith("data:image/jpeg;base64,"), f"thumbnail src {src[:40]!r}")
        path = os.path.join(tmp, f"thumb-{len(thumbs)}.jpg")
        with open(path, "wb") as f:
            f.write(base64.b64decode(src.split(",", 1)[1], validate=True))
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=width,height",
                                "-of", "csv=p=0", path], stdout=subprocess.PIPE, text=True,
                               check=True, timeout=60).stdout.strip()
        check(probe == f"{THUMB_W},{THUMB_H}", f"thumbnail is {probe}, not {THUMB_W}x{THUMB_H}")
        thumbs[(fig.attrs["data-kind"], float(fig.attrs["data-t"]))] = path
    black = thumbs.get(("video.black", tm.BLACK_START_S))
    freeze = thumbs.get(("video.freeze", tm.FREEZE_START_S))
    check(black and freeze, f"no black or freeze thumbnail among {sorted(thumbs)}")
    black_mean, _ = gray_mean_and_pixels(black, THUMB_W, THUMB_H)
    check(black_mean < 30, f"the black defect's picture is not black (mean luma {black_mean:.1f})")
    # The picture at the freeze's start, not the one a frame earlier (it moves
    # up to there): the tool must decode the frame at t, not near it.
    _, pixels = gray_mean_and_pixels(freeze, THUMB_W, THUMB_H)
    at_start = mad(pixels, reference_frame(clip, tm.FREEZE_START_S, THUMB_W, THUMB_H, tmp))
    earlier_t = tm.FREEZE_START_S - 1 / tm.CLIP_FPS
    earlier = mad(pixels, reference_frame(clip, earlier_t, THUMB_W, THUMB_H, tmp))
    check(at_start < 4 and at_start < 0.7 * earlier,
          f"the freeze picture is not the frame at {tm.FREEZE_START_S} s (mean abs diff "
          f"{at_start:.2f}; {earlier:.2f} to the frame at {earlier_t:.2f} s)")


def check_levels(dom):
    plots = [e.attrs for e in dom.find("svg", "levels")]
    check(len(plots) == 1, f"{len(plots)} level plots, expected one (one audio track)")
    p = plots[0]
    check(p.get("data-stream") == "main", f"level plot of stream {p.get('data-stream')!r}")
    window = float(p["data-window"])
    rms = [float(v) for v in p["data-rms"].split(",")]
    peak = [float(v) for v in p["data-peak"].split(",")]
    check(len(rms) == len(peak) and abs(len(rms) * window - tm.CLIP_DURATION_S) <= 2 * window,
          f"{len(rms)} windows of {window} s for a {tm.CLIP_DURATION_S} s clip")

    def over(values, t0, t1):
        return [v for i, v in enumerate(values) if t0 <= i * window and (i + 1) * window <= t1]

    sine_rms = over(rms, 0.5, 3.5) + over(rms, 7.5, 9.5)
    sine_peak = over(peak, 0.5, 3.5) + over(peak, 7.5, 9.5)
    quiet = over(rms, tm.SILENCE_START_S + 0.3, tm.SILENCE_END_S - 0.3)
    expected_rms = tm.SINE_PEAK_DBFS - 20 * math.log10(math.sqrt(2))
    check(sine_rms and all(abs(v - expected_rms) < 1.0 for v in sine_rms),
          f"sine RMS {min(sine_rms):.2f}..{max(sine_rms):.2f} dBFS, expected {expected_rms:.2f}")
    check(all(abs(v - tm.SINE_PEAK_DBFS) < 1.0 for v in sine_peak),
          f"sine peak {min(sine_peak):.2f}..{max(sine_peak):.2f}, expected {tm.SINE_PEAK_DBFS}")
    check(quiet and all(v <= -90 for v in quiet), f"silence is not silent: max {max(quiet):.1f}")
    spans = [e.attrs for e in dom.find("a", "span")]
    check(any(s.get("data-kind") == "audio.silence" and same_t(s["data-t"], tm.SILENCE_START_S)
              for s in spans), "the silence is not shaded on the level plot")


def check_usage(vqa, tmp, clip):
    err = os.path.join(tmp, "usage.err")
    bad_dir = os.path.join(tmp, "no-such-dir", "r.html")
    check(run_tool(vqa, ["scan", "--report", bad_dir, clip], err) == 1,
          "an unwritable report path does not exit 1")
    with open(err, encoding="utf-8", errors="replace") as f:
        check("no-such-dir" in f.read(), "the unwritable report path is not named")
    check(run_tool(vqa, ["scan", "--report", "-", clip], err) == 2, "--report - is not refused")
    size = os.path.getsize(clip)
    check(run_tool(vqa, ["scan", "--report", clip, clip], err) == 2,
          "a report path that is also the input is not refused")
    check(os.path.getsize(clip) == size, "the report overwrote its input")
    left = os.path.join(tmp, "left.html")
    check(run_tool(vqa, ["scan", "-d", "no-such-detector", "--report", left, clip], err) == 2,
          "an unknown detector is not a usage error")
    check(not os.path.exists(left), "a usage error left a report file behind")


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def chromium(browser, tmp, tag, *args):
    profile = tempfile.mkdtemp(prefix=f"chromium-{tag}-", dir=tmp)
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", f"--user-data-dir={profile}", *args]
    res = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=BROWSER_TIMEOUT_S)
    check(res.returncode == 0, f"chromium {tag} exited {res.returncode}: "
          f"{res.stderr.decode(errors='replace')[-400:]}")
    return res.stdout.decode("utf-8", errors="replace")


def check_screenshot(browser, report, tmp):
    png = os.path.join(tmp, "report.png")
    chromium(browser, tmp, "shot", f"--screenshot={png}", "--window-size=1280,2000",
             "file://" + report)
    check(os.path.getsize(png) > 0, "no screenshot")
    raw = tm.ffmpeg("-i", png, "-f", "rawvideo", "-pix_fmt", "rgb24", "-")
    check(len(raw) == 1280 * 2000 * 3, f"screenshot is {len(raw)} bytes of RGB, not 1280x2000")
    colors, white = set(), 0
    for i in range(0, len(raw), 3):
        px = raw[i:i + 3]
        colors.add(px)
        white += px == b"\xff\xff\xff"
    inked = 1 - white / (len(raw) // 3)
    print(f"screenshot: {len(colors)} distinct colours, {inked:.1%} not white")
    # A blank page is one colour; text alone a few dozen; the pictures bring thousands.
    check(len(colors) > 500, f"the screenshot has only {len(colors)} colours")
    check(inked > 0.03, f"the screenshot is {inked:.1%} ink: nearly blank")


def run(vqa, hostile_dir, tmp):
    clip = os.path.join(tmp, HOSTILE_NAME)
    tm.make_defect_clip(clip)
    report = os.path.join(tmp, "report.html")
    events_path = os.path.join(tmp, "events.jsonl")
    err_path = os.path.join(tmp, "scan.err")
    status = run_tool(vqa, ["scan", "--plugin-path", hostile_dir, "--report", report,
                            "-o", events_path,
                            "main=" + clip, os.path.join(tmp, "missing.mp4")], err_path)
    check(status == 1, f"exit status {status}, expected 1 (one input is missing)")
    with open(err_path, "rb") as f:
        err = f.read()
    check(b"\r" not in err and b"scanned" not in err,
          f"progress on a standard error that is a file: {err[:200]!r}")
    events = tm.read_events(events_path)
    kinds = {(ev["stream"], ev["kind"], ev["state"]) for ev in events}
    for want in (("main", "video.freeze", "start"), ("main", "video.black", "start"),
                 ("main", "audio.silence", "start"), ("1", "stream.error", "instant"),
                 ("main", HOSTILE_KIND, "start"), ("main", HOSTILE_KIND, "instant")):
        check(want in kinds, f"the scan did not report {want}")

    with open(report, encoding="utf-8") as f:
        text = f.read()
    dom = parse(text)
    check_self_contained(text, dom)
    check_escaping(text, dom, "report.html")
    check_rows(dom, events, "report.html")
    main_events = [ev for ev in events if ev["stream"] == "main"]
    check_timeline(dom, events)
    check_thumbnails(dom, main_events, clip, tmp)
    check_levels(dom)
    check_usage(vqa, tmp, clip)

    browser = find_chromium()
    if not browser:
        print("SKIP: no chromium (scripts/setup.sh installs it); the file checks passed")
        return SKIP
    check_screenshot(browser, report, tmp)
    dump = parse(chromium(browser, tmp, "dom", "--dump-dom", "file://" + report))
    check_rows(dump, events, "Chromium's DOM")
    check_escaping(None, dump, "Chromium's DOM")
    check(len(dump.find("svg", "timeline")) == 2, "Chromium's DOM lacks the two timelines")
    return 0


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix="vqa-report-")
    try:
        status = run(os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]), tmp)
    except tm.Failure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        status = 1
    finally:
        if not os.environ.get("VQA_KEEP_MEDIA"):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")
    if status == 0:
        print("ok")
    return status


if __name__ == "__main__":
    sys.exit(main())
