"""Push streams: pictures and samples from Python buffers reach the detectors
(a frozen stretch gives video.freeze, silent samples audio.silence), and
malformed input is refused with VqaError before any pointer reaches C."""
import array
import errno
import hashlib
import math
import threading
import unittest

import support
import vqa

FPS = 25
RATE = 48000
EINVAL = -errno.EINVAL


def noise(seed, size):
    """Deterministic pseudo-random bytes: a picture unlike any other seed's."""
    return hashlib.shake_128(str(seed).encode()).digest(size)


def tone(first, count, silent):
    """`count` samples of a 440 Hz tone at -12 dBFS from sample `first`, or zeros
    where silent(t) holds."""
    out = array.array("f", bytes(4 * count))
    for i in range(count):
        t = (first + i) / RATE
        if not silent(t):
            out[i] = 0.25 * math.sin(2 * math.pi * 440 * t)
    return out


class PushTest(unittest.TestCase):
    def setUp(self):
        self.ctx = vqa.Context(threads=2)

    def tearDown(self):
        self.ctx.close()

    def finish(self, stream):
        stream.end()
        self.assertTrue(stream.wait(timeout=60))
        return list(self.ctx.events())

    def assert_interval(self, events, kind, start, end, tolerance=1.0 / FPS):
        found = support.intervals(events, kind)
        self.assertEqual(len(found), 1, events)
        self.assertAlmostEqual(found[0][0], start, delta=tolerance)
        self.assertAlmostEqual(found[0][1], end, delta=tolerance)

    def test_frozen_gray8_pictures_give_a_freeze(self):
        w, h, pad = 160, 120, 16
        stream = self.ctx.add_stream(id="cam", detectors="freeze")
        frozen = noise("frozen", w * h)
        for i in range(5 * FPS):   # moving, frozen over [1, 4), moving
            rows = frozen if FPS <= i < 4 * FPS else noise(i, w * h)
            # Rows padded to w + pad bytes; the padding changes every frame and
            # must not count (linesize).
            garbage = noise(("pad", i), pad * h)
            padded = b"".join(rows[y * w:(y + 1) * w] + garbage[y * pad:(y + 1) * pad]
                              for y in range(h))
            data = (padded, bytearray(padded), memoryview(padded))[i % 3]
            self.assertTrue(stream.push_picture(data, w, h, pts=i, time_base=(1, FPS),
                                                linesize=w + pad, key=True))
        events = self.finish(stream)
        self.assert_interval(events, "video.freeze", 1.0, 4.0)
        self.assertEqual({(e["stream"], e["detector"]) for e in events}, {("cam", "freeze")})
        stats = stream.stats()
        self.assertEqual(stats["frames_decoded"], 5 * FPS)
        self.assertEqual(stats["packets_read"], 0)

    def test_yuv420p_as_one_buffer_or_as_planes(self):
        w, h = 65, 49                        # odd: chroma planes are 33x25
        cw, ch = 33, 25
        size = w * h + 2 * cw * ch
        stream = self.ctx.add_stream(detectors="freeze:min_duration=1")
        frozen = noise("frozen-yuv", size)
        for i in range(int(3.5 * FPS)):      # frozen over [0.5, 3)
            picture = frozen if FPS // 2 <= i < 3 * FPS else noise(("yuv", i), size)
            if i % 2:
                data = picture                # Y, U and V one after the other
            else:
                data = [picture[:w * h], bytearray(picture[w * h:w * h + cw * ch]),
                        memoryview(picture)[w * h + cw * ch:]]
            stream.push_picture(data, w, h, pts=i * 3600, time_base=(1, 90000),
                                pix_fmt="yuv420p", color_range="full")
        self.assert_interval(self.finish(stream), "video.freeze", 0.5, 3.0)

    def test_samples_interleaved_and_planar(self):
        chunk = 1024
        # Track 0: s16 stereo, silent throughout (digital zero).
        # Track 1: fltp stereo, a tone silent over [1, 4).
        stream = self.ctx.add_stream(id="mic", detectors="silence")
        zeros = array.array("h", bytes(2 * 2 * chunk))
        for k in range(5 * RATE // chunk):
            pts = k * chunk
            self.assertTrue(stream.push_samples(zeros, RATE, 2, pts, track=0))
            left = tone(pts, chunk, lambda t: 1 <= t < 4)
            stream.push_samples([left, bytearray(left)], RATE, 2, pts,
                                time_base=(1, RATE), sample_fmt="fltp", track=1)
        events = self.finish(stream)
        silence = [e for e in events if e["kind"] == "audio.silence"]
        starts = sorted(e["t"] for e in silence if e["state"] == "start")
        self.assertEqual(len(starts), 2, events)
        self.assertAlmostEqual(starts[0], 0.0, delta=0.05)   # track 0
        self.assertAlmostEqual(starts[1], 1.0, delta=0.05)   # track 1
        ends = sorted(e["t"] for e in silence if e["state"] == "end")
        self.assertAlmostEqual(ends[0], 4.0, delta=0.05)     # track 1: the tone is back
        per_track = sorted((d["track"], d["frames_analysed"]) for d in stream.detector_stats())
        self.assertEqual([t for t, _ in per_track], [0, 1])
        self.assertTrue(all(n > 0 for _, n in per_track))

    def test_events_read_on_another_thread_while_pushing(self):
        stream = self.ctx.add_stream(id="cam", detectors="freeze:min_duration=0.5")
        received = []
        reader = threading.Thread(target=lambda: received.extend(self.ctx.events(timeout=30)))
        reader.start()
        frame = noise("still", 32 * 32)
        for i in range(2 * FPS):
            stream.push_picture(frame if i >= FPS else noise(i, 32 * 32), 32, 32, i, (1, FPS))
        stream.end()
        reader.join(timeout=60)
        self.assertFalse(reader.is_alive())
        self.assert_interval(received, "video.freeze", 1.0, 2.0)

    def test_stop_ends_open_defects(self):
        stream = self.ctx.add_stream(id="cam", detectors="freeze:min_duration=1")
        still = noise("still", 32 * 32)
        # Frozen from the start; never ended by the host. At most the two queues
        # (2 x 16 frames) are left unanalysed by stop(): the freeze has begun.
        for i in range(4 * FPS):
            stream.push_picture(still, 32, 32, i, (1, FPS))
        self.assertFalse(stream.wait(timeout=0.1))
        stream.stop()
        self.assertTrue(stream.wait(timeout=60))
        self.assertEqual(stream.stats()["state"], "ended")
        events = list(self.ctx.events())
        self.assertEqual([(e["kind"], e["state"]) for e in events],
                         [("video.freeze", "start"), ("video.freeze", "end")])
        self.assertEqual(events[0]["t"], 0)
        self.assertEqual(events[1]["details"].get("closed_by"), "eos")
        self.assert_refused(lambda: stream.push_picture(still, 32, 32, 999, (1, FPS)),
                            code=vqa.ERROR_STOPPED)

    def assert_refused(self, call, code=EINVAL, words=()):
        with self.assertRaises(vqa.VqaError) as caught:
            call()
        self.assertEqual(caught.exception.code, code, str(caught.exception))
        for word in words:
            self.assertIn(word, str(caught.exception))

    def test_malformed_pictures_are_refused(self):
        stream = self.ctx.add_stream(detectors="freeze")
        push = stream.push_picture
        self.assert_refused(lambda: push(b"\0" * 15, 4, 4, 0), words=["holds 15", "needs 16"])
        self.assert_refused(lambda: push(b"\0" * 16, 4, 4, 0, linesize=3),
                            words=["linesize"])
        # Padded rows: the last row needs only its pixels.
        self.assertTrue(push(b"\0" * (8 * 3 + 4), 4, 4, 0, linesize=8))
        self.assert_refused(lambda: push([b"\0" * 16, b"\0" * 4], 4, 4, 1, pix_fmt="yuv420p"),
                            words=["3 plane(s): 2 given"])
        self.assert_refused(lambda: push([b"\0" * 16, b"\0" * 4, b"\0" * 3], 4, 4, 1,
                                         pix_fmt="yuv420p"), words=["plane 2"])
        self.assert_refused(lambda: push(b"\0" * 23, 4, 4, 1, pix_fmt="yuv420p"),
                            words=["needs 24"])
        self.assert_refused(lambda: push(b"\0" * 16, 4, 4, 1, pix_fmt="p010"),
                            words=["unknown pixel format"])
        self.assert_refused(lambda: push("pixels", 4, 4, 1), words=["not a buffer"])
        self.assert_refused(lambda: push(b"\0" * 16, 0, 4, 1), words=["width"])
        self.assert_refused(lambda: push(b"\0" * 16, 4, 4, 1, time_base=(0, 1)))
        self.assert_refused(lambda: push(b"\0" * 16, 4, 4, 1.5), words=["pts"])
        strided = memoryview(bytearray(32))[::2]
        self.assert_refused(lambda: push(strided, 4, 4, 1), words=["contiguous"])
        self.assert_refused(lambda: push(b"\0" * 16, 4, 4, 1, color_range="hdr"))

    def test_malformed_samples_are_refused(self):
        stream = self.ctx.add_stream(detectors="silence")
        push = stream.push_samples
        self.assert_refused(lambda: push(b"\0" * 6, RATE, 2, 0), words=["whole number"])
        self.assert_refused(lambda: push([b"\0" * 6], RATE, 2, 0, sample_fmt="s16p"),
                            words=["whole"])
        self.assert_refused(lambda: push([b"\0" * 8, b"\0" * 4], RATE, 2, 0,
                                         sample_fmt="s16p"), words=["same"])
        self.assert_refused(lambda: push(b"\0" * 8, RATE, 2, 0, sample_fmt="s24"),
                            words=["unknown sample format"])
        self.assert_refused(lambda: push(b"\0" * 8, RATE, 2, 0, track=16), words=["track"])
        self.assert_refused(lambda: push(b"\0" * 8, 0, 2, 0), words=["sample_rate"])
        self.assert_refused(lambda: push(b"", RATE, 2, 0), words=["empty"])

    def test_push_to_a_pull_stream_or_after_the_end(self):
        tmp = support.temp_dir()
        self.addCleanup(tmp.cleanup)
        pull = self.ctx.add_stream(url=tmp.name + "/none.mp4")
        # The library refuses it (a pull stream takes no pictures).
        self.assert_refused(lambda: pull.push_picture(b"\0" * 16, 4, 4, 0),
                            words=["refused the picture"])
        self.assert_refused(pull.end, words=["not a push stream"])
        push = self.ctx.add_stream(detectors="freeze")
        push.end()
        self.assert_refused(lambda: push.push_picture(b"\0" * 16, 4, 4, 0),
                            code=vqa.ERROR_STOPPED)


if __name__ == "__main__":
    unittest.main(verbosity=2)
