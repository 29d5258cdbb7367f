"""Contexts: the plugin listing (as `vqa plugins --json`), bad settings as
VqaError, logging, closing, and use after close."""
import errno
import gc
import json
import threading
import time
import unittest
import weakref

import support
import vqa

EINVAL = -errno.EINVAL


class PluginsTest(unittest.TestCase):
    def test_listing_has_detectors_and_their_option_tables(self):
        with vqa.Context(threads=1) as ctx:
            listing = ctx.plugins()
        self.assertEqual(listing["failures"], [])
        self.assertEqual(listing["version"], vqa.library_version())
        detectors = {d["name"]: d for p in listing["plugins"] for d in p["detectors"]}
        self.assertTrue({"freeze", "black", "silence"} <= set(detectors))
        freeze = detectors["freeze"]
        self.assertIn("video.freeze", freeze["kinds"])
        self.assertEqual(freeze["input"]["type"], "video")
        options = {o["name"]: o for o in freeze["options"]}
        self.assertEqual(options["min_duration"]["type"], "double")
        self.assertEqual(options["min_duration"]["default"], 2.0)
        self.assertEqual(options["min_duration"]["unit"], "s")
        self.assertIsInstance(options["min_duration"]["min"], float)
        self.assertTrue(options["min_duration"]["help"])
        silence = {o["name"]: o for o in detectors["silence"]["options"]}
        self.assertEqual(silence["level"]["default"], -60)
        self.assertEqual(silence["level"]["unit"], "dBFS")
        self.assertIs(silence["channels"]["default"], True)
        self.assertIsNone(silence["channels"]["min"])   # a bool has no range

    @unittest.skipUnless(support.tool(), "the build has no vqa tool")
    def test_listing_equals_the_tools_json(self):
        with vqa.Context(threads=1) as ctx:
            ours = ctx.plugins()
        status, lines, err = support.run_tool("plugins", "--json")
        self.assertEqual(status, 0, err)
        self.assertEqual(ours, json.loads("\n".join(lines)))

    @unittest.skipUnless(support.tool(), "the build has no vqa tool")
    def test_load_failures_equal_the_tools(self):
        fixtures = support.build_path("VQA_TEST_FIXTURE_PLUGIN_DIR")
        with vqa.Context(threads=1, plugin_paths=[fixtures], log_level="none") as ctx:
            ours = ctx.plugins()
        status, lines, err = support.run_tool("plugins", "--json", "--plugin-path", fixtures)
        self.assertEqual(status, 0, err)
        self.assertEqual(ours, json.loads("\n".join(lines)))
        statuses = {f["status"] for f in ours["failures"]}
        self.assertTrue({"open-failed", "not-a-plugin", "abi-mismatch",
                         "bad-descriptor"} <= statuses, statuses)
        garbage = [f for f in ours["failures"] if f["path"].endswith("/garbage.so")]
        self.assertEqual(len(garbage), 1)
        self.assertEqual(garbage[0]["status"], "open-failed")
        self.assertTrue(garbage[0]["reason"])


class BadSettingsTest(unittest.TestCase):
    def assert_einval(self, fn, *words, **kwargs):
        with self.assertRaises(vqa.VqaError) as caught:
            fn(**kwargs)
        e = caught.exception
        self.assertEqual(e.code, EINVAL, str(e))
        self.assertEqual(e.strerror, "invalid argument")
        for word in words:
            self.assertIn(word, e.reason)
        return e

    def test_context_settings(self):
        # The library's own reason (logged as an error) is the exception's.
        self.assert_einval(vqa.Context, "n_threads=-1", "out of range", threads=-1)
        self.assert_einval(vqa.Context, "queue_frames=5000", queue_frames=5000)
        self.assert_einval(vqa.Context, "io_threads", io_threads="two")
        self.assert_einval(vqa.Context, "log_level", log_level="loud")
        # Even with the library's log turned off, the reason is there.
        self.assert_einval(vqa.Context, "n_threads=2000", threads=2000, log_level="none")

    def test_stream_settings_and_detector_specs(self):
        with vqa.Context(threads=1, log_level="none") as ctx:
            add = ctx.add_stream
            self.assert_einval(add, "unknown detector 'nosuch'", detectors="nosuch")
            self.assert_einval(add, "min_duration=-1", "out of range",
                               detectors="freeze:min_duration=-1")
            self.assert_einval(add, "unknown option 'bogus'", detectors="freeze:bogus=1")
            self.assert_einval(add, "cost", cost="cheap")
            self.assert_einval(add, "cost=7", cost=7)
            self.assert_einval(add, "decoder_threads=100", decoder_threads=100)
            self.assert_einval(add, "nonesuch", hwaccel="nonesuch")
            self.assert_einval(add, "id must not be empty", id="")
            self.assert_einval(add, "video_track", video_track="second")
            self.assert_einval(ctx.check_detectors, "unknown option 'x'", spec="black:x=1")
            self.assertEqual(ctx.streams(), [])   # nothing was added
            ctx.check_detectors("black:min_duration=0.5,silence")   # fine: no exception


class LifetimeTest(unittest.TestCase):
    def test_log_lines_reach_the_logger(self):
        lines = []
        with vqa.Context(threads=1, log_level="info",
                         logger=lambda level, msg: lines.append((level, msg))) as ctx:
            ctx.add_stream(id="cam", detectors="freeze")
        self.assertIn(("info", "stream cam: added (push, 1 detectors)"), lines)

    def test_log_level_filters_and_failed_calls_keep_their_errors(self):
        lines = []
        with vqa.Context(threads=1, log_level="error",
                         logger=lambda level, msg: lines.append((level, msg))) as ctx:
            ctx.add_stream(id="cam", detectors="freeze")
            with self.assertRaises(vqa.VqaError):
                ctx.add_stream(detectors="nosuch")
        self.assertEqual(lines, [])   # no info line; the error went into the exception

    def test_use_after_close(self):
        ctx = vqa.Context(threads=1)
        stream = ctx.add_stream(detectors="freeze")
        ctx.close()
        ctx.close()   # idempotent
        self.assertTrue(ctx.closed)
        for call in (lambda: ctx.add_stream(), ctx.plugins, stream.stats, stream.end,
                     lambda: stream.push_picture(b"\0" * 16, 4, 4, 0)):
            with self.assertRaises(vqa.VqaError) as caught:
                call()
            self.assertEqual(caught.exception.code, EINVAL)
            self.assertIn("closed", caught.exception.reason)
        stream.stop()      # no-ops once closed
        stream.remove()
        self.assertTrue(stream.wait())   # closed: it has ended
        self.assertEqual(list(ctx.events()), [])

    def test_remove_then_use(self):
        with vqa.Context(threads=1) as ctx:
            a = ctx.add_stream(id="a", detectors="freeze")
            b = ctx.add_stream(id="b", detectors="freeze")
            a.remove()
            a.remove()
            with self.assertRaises(vqa.VqaError) as caught:
                a.stats()
            self.assertIn("removed", caught.exception.reason)
            self.assertEqual([s.id for s in ctx.streams()], ["b"])
            b.end()
            self.assertTrue(b.wait(timeout=30))
            self.assertEqual(list(ctx.events()), [])

    def test_events_end_at_once_without_streams(self):
        with vqa.Context(threads=1) as ctx:
            self.assertEqual(list(ctx.events()), [])

    def test_events_timeout_while_a_stream_runs(self):
        with vqa.Context(threads=1) as ctx:
            stream = ctx.add_stream(detectors="freeze")   # push: nothing comes
            self.assertEqual(list(ctx.events(timeout=0.2)), [])
            self.assertFalse(stream.stats()["finished"])
            self.assertFalse(stream.wait(timeout=0.1))

    def test_close_stops_a_blocked_waiter(self):
        ctx = vqa.Context(threads=1)
        stream = ctx.add_stream(detectors="freeze")
        result = []
        waiter = threading.Thread(target=lambda: result.append(stream.wait()))
        waiter.start()
        for _ in range(6000):   # until the waiter is inside vqa_stream_wait (60 s at most)
            if stream._state.busy:
                break
            time.sleep(0.01)
        self.assertEqual(stream._state.busy, 1)
        ctx.close()   # stops the stream, waits for the waiter's call to return
        waiter.join(timeout=60)
        self.assertFalse(waiter.is_alive())
        self.assertEqual(result, [True])

    def test_a_dropped_context_is_freed_at_once(self):
        # No reference cycle holds a context: it is closed when its last
        # reference goes, on the thread that drops it, never later by the
        # garbage collector on a library thread.
        ctx = vqa.Context(threads=1)
        stream = ctx.add_stream(detectors="freeze")
        stream.push_picture(b"\x80" * 64, 8, 8, 0, (1, 25))
        ref = weakref.ref(ctx)
        gc.disable()
        try:
            del ctx, stream
            self.assertIsNone(ref())
        finally:
            gc.enable()


if __name__ == "__main__":
    unittest.main(verbosity=2)
