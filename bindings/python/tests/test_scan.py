"""vqa.scan and pull streams: the events equal, as parsed JSON, the lines
`vqa scan` prints for the same clip."""
import errno
import json
import os
import subprocess
import sys
import unittest

import support
import vqa


class ScanTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = support.temp_dir()
        cls.clip = support.make_defect_clip(os.path.join(cls.tmp.name, "defects.mp4"))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def tool_events(self, *args, expect_status=0):
        status, lines, err = support.run_tool("scan", "-q", *args)
        self.assertEqual(status, expect_status, err)
        return [json.loads(line) for line in lines]

    def assert_same_events(self, ours, theirs):
        self.assertEqual(support.canonical(ours), support.canonical(theirs))
        # Each detector's events also come in the same order.
        self.assertEqual(support.by_detector(ours), support.by_detector(theirs))

    @unittest.skipUnless(support.tool(), "the build has no vqa tool")
    def test_round_trip_every_detector(self):
        ours = list(vqa.scan(self.clip))
        theirs = self.tool_events(self.clip)
        self.assert_same_events(ours, theirs)
        # Not two empty lists: the clip's defects are there, where it put them.
        self.assertEqual(support.intervals(ours, "video.freeze"), [(3, 6)])
        self.assertEqual(support.intervals(ours, "video.black"), [(6, 8)])
        silence = support.intervals(ours, "audio.silence")
        self.assertEqual(len(silence), 1)
        self.assertAlmostEqual(silence[0][0], 4, delta=0.05)
        self.assertAlmostEqual(silence[0][1], 7, delta=0.05)
        for e in ours:
            self.assertEqual(e["v"], 1)
            self.assertEqual(e["stream"], "0")

    @unittest.skipUnless(support.tool(), "the build has no vqa tool")
    def test_round_trip_with_options(self):
        spec = "freeze:min_duration=1.5,black:min_duration=0.5,silence"
        ours = list(vqa.scan(self.clip, detectors=spec, cost="light", threads=1,
                             id="clip"))
        theirs = self.tool_events("-d", spec, "--cost", "light", "--threads", "1",
                                  "clip=" + self.clip)
        self.assert_same_events(ours, theirs)
        self.assertEqual({e["detector"] for e in ours}, {"freeze", "black", "silence"})
        self.assertEqual({e["stream"] for e in ours}, {"clip"})

    @unittest.skipUnless(support.tool(), "the build has no vqa tool")
    def test_missing_input_yields_the_error_event_then_raises(self):
        missing = os.path.join(self.tmp.name, "missing.mp4")
        events = []
        with self.assertRaises(vqa.VqaError) as caught:
            for event in vqa.scan(missing, log_level="none"):
                events.append(event)
        self.assertEqual(caught.exception.code, -errno.ENOENT)
        self.assertIn(missing, str(caught.exception))
        self.assertEqual(events, self.tool_events(missing, expect_status=1))
        self.assertEqual([e["kind"] for e in events], ["stream.error"])

    def test_the_example_prints_what_scan_yields(self):
        example = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                               "examples", "python", "scan.py")
        out = subprocess.run([sys.executable, example, "-d", "freeze,black", self.clip],
                             capture_output=True, text=True, timeout=120, check=False)
        self.assertEqual(out.returncode, 0, out.stderr)
        printed = [json.loads(line) for line in out.stdout.splitlines()]
        self.assert_same_events(printed, list(vqa.scan(self.clip, detectors="freeze,black")))
        self.assertEqual(support.intervals(printed, "video.freeze"), [(3, 6)])

    def test_bad_detector_spec_raises_before_iterating(self):
        with self.assertRaises(vqa.VqaError) as caught:
            vqa.scan(self.clip, detectors="freeze:min_duration=nope")
        self.assertEqual(caught.exception.code, -errno.EINVAL)
        self.assertIn("min_duration", caught.exception.reason)

    def test_pull_stream_stats_and_detector_stats(self):
        with vqa.Context(threads=2) as ctx:
            stream = ctx.add_stream(url=self.clip, id="s", detectors="freeze,silence")
            events = list(ctx.events())
            self.assertTrue(stream.wait(timeout=60))
            stats = stream.stats()
            per_detector = stream.detector_stats()
        self.assertTrue(stats["finished"])
        self.assertEqual(stats["state"], "ended")
        self.assertEqual(stats["events"], len(events))
        self.assertAlmostEqual(stats["media_time"], 10, delta=0.1)
        self.assertGreater(stats["packets_read"], 0)
        self.assertEqual(stats["frames_dropped"], 0)
        names = sorted((d["name"], d["type"]) for d in per_detector)
        self.assertEqual(names, [("freeze", "video"), ("silence", "audio")])
        video = next(d for d in per_detector if d["type"] == "video")
        self.assertEqual(video["frames_analysed"], 250)   # 10 s at 25 fps, cost full
        self.assertEqual(sum(d["frames_analysed"] for d in per_detector),
                         stats["frames_analysed"])

    def test_live_settings_reach_the_library(self):
        with vqa.Context(threads=1, log_level="none") as ctx:
            # realtime: read at the media's own speed, so 10 s of clip take 10 s.
            paced = ctx.add_stream(url=self.clip, detectors="black", realtime=True,
                                   io_timeout=5.0, stall_timeout=-1, reconnect=0,
                                   protocols=["file"], input_options={"probesize": 5000000})
            self.assertFalse(paced.wait(timeout=0.3))
            self.assertEqual(paced.stats()["state"], "running")
            paced.stop()
            self.assertTrue(paced.wait(timeout=60))
            self.assertEqual(paced.stats()["state"], "ended")
            self.assertLess(paced.stats()["media_time"], 9)
            # A protocol whitelist without "file" keeps a local file out.
            barred = ctx.add_stream(url=self.clip, detectors="black", protocols="http,https")
            with self.assertRaises(vqa.VqaError):
                barred.wait(timeout=60)
            kinds = [(e["stream"], e["kind"]) for e in ctx.events()]
        self.assertEqual(kinds, [(barred.id, "stream.error")])


if __name__ == "__main__":
    unittest.main(verbosity=2)
