#!/usr/bin/env python3
"""`vqa monitor --http` end to end, with nothing but the standard library.

A local clip is monitored in real time with the HTTP server on a free
loopback port. /metrics must parse as Prometheus text format 0.0.4 (every
line a comment or a valid sample, families whole, counters named _total)
with the stream's counters growing between two reads and open defects
following the events; /events must deliver each event as Server-Sent Events,
exactly the JSON lines written on standard output, up to the last ones
written when SIGINT closes the open defects; /streams must be JSON that lists
the stream; other paths 404, other methods 405; SIGINT exits 0. A client that
connects to /events and never reads must not keep the monitor from finishing
or stopping. Bad --http values are usage errors; a port in use fails.

    test_http.py VQA_TOOL            (VQA_PLUGIN_PATH from the environment)
    test_http.py VQA_TOOL --absent   (a vqa built without --http refuses it)
"""
import http.client
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

VQA = None
# A generous bound on every wait, to catch hangs; nothing here measures time.
LIVENESS_S = 60.0

# The clip: video moves 0-1 s, is frozen 1-5 s, moves again to 12 s; audio is a
# tone 0-3 s and silent from 3 s to the end. With freeze:min_duration=1 and
# silence:min_duration=1 the freeze starts at about 2 s and ends at 5 s of media
# time, the silence starts at about 4 s and is still open when SIGINT comes.
CLIP_GRAPH = (
    "testsrc2=s=320x240:r=25:d=1[v1];"
    "testsrc2=s=320x240:r=25:d=2,trim=start_frame=25:end_frame=26,setpts=PTS-STARTPTS,"
    "loop=loop=99:size=1:start=0[v2];"
    "testsrc2=s=320x240:r=25:d=12,trim=start=5,setpts=PTS-STARTPTS[v3];"
    "[v1][v2][v3]concat=n=3:v=1:a=0,format=yuv420p[v];"
    "aevalsrc='if(lt(t\\,3)\\,0.25*sin(2*PI*440*t)\\,0)':s=48000:c=stereo:d=12[a]"
)
DETECTORS = "freeze:min_duration=1,silence:min_duration=1"

METRIC_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE_RE = re.compile(
    r"^(?P<name>%s)(?:\{(?P<labels>%s(?:,%s)*)?\})? (?P<value>\S+)(?: -?\d+)?$"
    % (METRIC_NAME, LABEL, LABEL))
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
HELP_RE = re.compile(r"^# HELP (%s) .*$" % METRIC_NAME)
TYPE_RE = re.compile(r"^# TYPE (%s) (counter|gauge|histogram|summary|untyped)$" % METRIC_NAME)


def unescape(value):
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


def parse_value(text):
    if text in ("NaN", "+Inf", "-Inf"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text):
        raise ValueError("not a sample value: %r" % text)
    return float(text)


def parse_metrics(text):
    """Check the exposition format line by line. @return {(name, labels): value}."""
    assert text.endswith("\n"), "the exposition must end with a line feed"
    samples, types, done, current = {}, {}, set(), None
    for number, line in enumerate(text[:-1].split("\n"), 1):
        where = "line %d: %r" % (number, line)
        family = None
        if line.startswith("#"):
            m = TYPE_RE.match(line) or HELP_RE.match(line)
            if line.startswith("# HELP") or line.startswith("# TYPE"):
                assert m, "bad HELP or TYPE line, " + where
                family = m.group(1)
            if line.startswith("# TYPE"):
                assert family not in types, "second TYPE, " + where
                types[family] = m.group(2)
        else:
            m = SAMPLE_RE.match(line)
            assert m, "not a valid sample, " + where
            family = m.group("name")
            labels = tuple(sorted((k, unescape(v)) for k, v in
                                  LABEL_RE.findall(m.group("labels") or "")))
            assert family in types, "sample before its TYPE, " + where
            if types[family] == "counter":
                assert family.endswith("_total"), "counter without _total, " + where
            key = (family, labels)
            assert key not in samples, "duplicate series, " + where
            samples[key] = parse_value(m.group("value"))
        if family and family != current:
            assert family not in done, "family %s split, %s" % (family, where)
            if current:
                done.add(current)
            current = family
    return samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, predicate):
    deadline = time.monotonic() + LIVENESS_S
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError("gave up waiting for " + what)


def request(port, path, method="GET"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=LIVENESS_S)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read().decode("utf-8")
    finally:
        conn.close()


class Monitor:
    """`vqa monitor` in the background, standard output and error in files."""

    def __init__(self, tmp, args):
        self.out_path = os.path.join(tmp, "stdout-%d" % id(self))
        self.err_path = os.path.join(tmp, "stderr-%d" % id(self))
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen([VQA, "monitor"] + args, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=err)

    def stdout(self):
        with open(self.out_path, encoding="utf-8") as f:
            return f.read()

    def stderr(self):
        with open(self.err_path, encoding="utf-8") as f:
            return f.read()

    def wait_serving(self, port):
        def up():
            if self.proc.poll() is not None:
                raise AssertionError("vqa exited with %d:\n%s" % (self.proc.returncode,
                                                                   self.stderr()))
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return True
            except OSError:
                return False
        wait_for("the server on port %d" % port, up)

    def wait(self):
        try:
            return self.proc.wait(timeout=LIVENESS_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("vqa did not exit:\n" + self.stderr())

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class SseReader(threading.Thread):
    """Reads /events to its end: every (event type, data) in order."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=LIVENESS_S)
        self.conn.request("GET", "/events")
        self.resp = self.conn.getresponse()
        self.events = []
        self.comments = 0
        self.lock = threading.Lock()
        self.ended = False
        self.error = None

    def run(self):
        try:
            kind, data = "message", []
            while True:
                line = self.resp.readline()
                if not line:
                    break
                line = line.decode("utf-8").rstrip("\n")
                if line == "":
                    if data:
                        with self.lock:
                            self.events.append((kind, "\n".join(data)))
                    kind, data = "message", []
                elif line.startswith(":"):
                    self.comments += 1
                elif line.startswith("data: "):
                    data.append(line[6:])
                elif line.startswith("event: "):
                    kind = line[7:]
        except Exception as e:  # reported by the test that reads the events
            self.error = e
        finally:
            self.ended = True
            self.conn.close()

    def messages(self):
        with self.lock:
            return [d for k, d in self.events if k == "message"]

    def find(self, kind, state):
        for data in self.messages():
            ev = json.loads(data)
            if ev["kind"] == kind and ev["state"] == state:
                return data
        return None


class HttpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vqa-http-")
        cls.clip = os.path.join(cls.tmp, "clip.mp4")
        cls.short = os.path.join(cls.tmp, "short.mp4")
        ffmpeg = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
        subprocess.run(ffmpeg + ["-filter_complex", CLIP_GRAPH, "-map", "[v]", "-map", "[a]",
                                 "-c:v", "libx264", "-preset", "ultrafast", "-g", "25",
                                 "-c:a", "aac", cls.clip], check=True)
        subprocess.run(ffmpeg + ["-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=4",
                                 "-c:v", "libx264", "-preset", "ultrafast", cls.short],
                       check=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def start(self, args):
        """Start a monitor on a free port; retry if another process took it first."""
        for _ in range(5):
            port = free_port()
            mon = Monitor(self.tmp, args(port))
            try:
                mon.wait_serving(port)
                self.addCleanup(mon.kill)
                return mon, port
            except AssertionError:
                if "in use" not in mon.stderr():
                    raise
        self.fail("no free port found")

    def test_endpoints_while_monitoring(self):
        mon, port = self.start(lambda p: ["--http", "127.0.0.1:%d" % p, "-d", DETECTORS,
                                          "--stats-interval", "0", self.clip])
        sse = SseReader(port)
        self.assertEqual(sse.resp.status, 200)
        self.assertEqual(sse.resp.getheader("Content-Type"), "text/event-stream")
        sse.start()

        def scrape():
            status, headers, body = request(port, "/metrics")
            self.assertEqual(status, 200)
            self.assertTrue(headers["Content-Type"].startswith("text/plain; version=0.0.4"))
            return parse_metrics(body)

        first = wait_for("the stream on /metrics", lambda: (
            lambda m: m if value(m, "vqa_stream_frames_decoded_total", stream="0") is not None
            else None)(scrape()))

        # The freeze start, as it happens, is the very line written on standard output.
        start = wait_for("the freeze start on /events",
                         lambda: sse.find("video.freeze", "start"))
        self.assertIn(start, mon.stdout().splitlines())

        second = scrape()
        for name in ("vqa_stream_packets_read_total", "vqa_stream_frames_decoded_total",
                     "vqa_stream_frames_analysed_total", "vqa_stream_media_time_seconds"):
            self.assertGreater(value(second, name, stream="0"), value(first, name, stream="0"),
                               name)
        self.assertEqual(value(second, "vqa_stream_open_defects", stream="0",
                               kind="video.freeze"), 1)
        self.assertEqual(value(second, "vqa_stream_state", stream="0", state="running"), 1)
        self.assertEqual(value(second, "vqa_stream_state", stream="0", state="ended"), 0)
        self.assertGreaterEqual(value(second, "vqa_stream_events_total", stream="0"), 1)
        for det in ("freeze", "silence"):
            labels = dict(stream="0", detector=det, track="0")
            self.assertGreater(value(second, "vqa_detector_frames_analysed_total", **labels), 0)
            cpu = value(second, "vqa_detector_cpu_seconds_total", **labels)
            self.assertTrue(cpu is not None and cpu >= 0 and math.isfinite(cpu))
        self.assertEqual(value(second, "vqa_http_event_clients"), 1)

        status, headers, body = request(port, "/streams")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "application/json")
        streams = json.loads(body)
        self.assertEqual([s["id"] for s in streams], ["0"])
        self.assertEqual(streams[0]["url"], self.clip)
        self.assertEqual(streams[0]["state"], "running")
        self.assertGreater(streams[0]["counters"]["frames_decoded"], 0)
        self.assertIn("video.freeze", [d["kind"] for d in streams[0]["open_defects"]])

        self.assertEqual(request(port, "/nope")[0], 404)
        status, headers, _ = request(port, "/metrics", "POST")
        self.assertEqual(status, 405)
        self.assertEqual(headers["Allow"], "GET")

        # The freeze ends; the silence is open when SIGINT comes.
        wait_for("the freeze end and the silence start", lambda: (
            sse.find("video.freeze", "end") and sse.find("audio.silence", "start")))
        third = scrape()
        self.assertEqual(value(third, "vqa_stream_open_defects", stream="0",
                               kind="video.freeze"), 0)
        self.assertEqual(value(third, "vqa_stream_open_defects", stream="0",
                               kind="audio.silence"), 1)

        self.assertIsNone(mon.proc.poll(), "the clip ended before SIGINT:\n" + mon.stderr())
        mon.proc.send_signal(signal.SIGINT)
        self.assertEqual(mon.wait(), 0, mon.stderr())
        sse.join(LIVENESS_S)
        self.assertTrue(sse.ended, "/events did not end when the monitor stopped")
        self.assertIsNone(sse.error)
        # Every event, to the ends written at the stop, in the same order as on stdout.
        self.assertEqual(sse.messages(), mon.stdout().splitlines())
        end = json.loads(sse.find("audio.silence", "end"))
        self.assertEqual(end["details"]["closed_by"], "eos")

    def stuck_client(self, port):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        self.addCleanup(s.close)
        wait_for("the stuck client to be served", lambda: value(
            parse_metrics(request(port, "/metrics")[2]), "vqa_http_event_clients") == 1)
        return s

    def test_client_that_never_reads_does_not_hold_the_end(self):
        # ":PORT" listens on 127.0.0.1; the input ends by itself.
        mon, port = self.start(lambda p: ["--http", ":%d" % p, "-d", "freeze",
                                          "--stats-interval", "0", self.short])
        self.stuck_client(port)
        self.assertEqual(mon.wait(), 0, mon.stderr())
        self.assertIn("http://127.0.0.1:%d/" % port, mon.stderr())

    def test_client_that_never_reads_does_not_hold_a_stop(self):
        mon, port = self.start(lambda p: ["--http", str(p), "-d", DETECTORS,
                                          "--stats-interval", "0", self.clip])
        self.stuck_client(port)
        self.assertIsNone(mon.proc.poll())
        mon.proc.send_signal(signal.SIGINT)
        self.assertEqual(mon.wait(), 0, mon.stderr())

    def run_vqa(self, args):
        return subprocess.run([VQA] + args, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=LIVENESS_S)

    def test_bad_addresses_are_usage_errors(self):
        for bad in ("1.2.3", "host.example:80", "99999", "127.0.0.1:", "[::1]"):
            r = self.run_vqa(["monitor", "--http", bad, self.short])
            self.assertEqual(r.returncode, 2, bad)
            self.assertEqual(r.stdout, "")
            self.assertIn("--http", r.stderr)
        r = self.run_vqa(["scan", "--http", "8080", self.short])
        self.assertEqual(r.returncode, 2)
        self.assertIn("does not apply", r.stderr)
        # One id for two streams would make one series of two.
        r = self.run_vqa(["monitor", "--http", "0", "a=" + self.short, "a=" + self.short])
        self.assertEqual(r.returncode, 2)
        self.assertIn("stream id 'a' is given twice", r.stderr)

    def test_port_in_use_fails(self):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            port = taken.getsockname()[1]
            r = self.run_vqa(["monitor", "--http", "127.0.0.1:%d" % port, self.short])
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertIn("Address already in use", r.stderr)


class AbsentTest(unittest.TestCase):
    """A vqa built without libmicrohttpd refuses --http, saying why."""

    def test_http_not_built_in(self):
        r = subprocess.run([VQA, "monitor", "--http", "8080", "clip.mp4"],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=LIVENESS_S)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stdout, "")
        self.assertIn("--http is not built into this vqa", r.stderr)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_http.py VQA_TOOL [--absent]")
    VQA = sys.argv.pop(1)
    absent = len(sys.argv) > 1 and sys.argv.pop(1) == "--absent"
    unittest.main(verbosity=2, defaultTest="AbsentTest" if absent else "HttpTest")
