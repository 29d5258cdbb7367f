"""Context and Stream: the Pythonic face of vqa_open / vqa_stream_*."""
import atexit
import ctypes
import json
import logging
import math
import os
import queue
import threading
import time
import weakref

from . import _abi, _loader, _media
from ._errors import EAGAIN, EINVAL, ERANGE, ETIMEDOUT, VqaError

LOG_LEVELS = {"none": _abi.LOG_NONE, "error": _abi.LOG_ERROR, "warning": _abi.LOG_WARNING,
              "info": _abi.LOG_INFO, "debug": _abi.LOG_DEBUG, "trace": _abi.LOG_TRACE}
# libvqa's levels as logging's; trace sits below DEBUG.
TRACE = 5
_PY_LEVELS = {_abi.LOG_ERROR: logging.ERROR, _abi.LOG_WARNING: logging.WARNING,
              _abi.LOG_INFO: logging.INFO, _abi.LOG_DEBUG: logging.DEBUG, _abi.LOG_TRACE: TRACE}
COSTS = {"full": _abi.COST_FULL, "light": _abi.COST_LIGHT, "keyframes": _abi.COST_KEYFRAMES}
EVENT_LINE_BYTES = 4096
SPEC_MSG_BYTES = 512
# Long waits are cut into slices so that Ctrl-C reaches Python in between.
WAIT_SLICE_MS = 200
POLL_S = 0.05

_open_contexts = weakref.WeakSet()
_captures = threading.local()   # error lines logged by the library during a call of this thread


def _invalid(reason):
    return VqaError(EINVAL, reason)


def _error(lib, code, reason=None):
    return VqaError(code, reason, lib.strerror(code))


def _encode(value, what, path=False):
    if value is None:
        return None
    if path:
        try:
            return _no_nul(os.fsencode(value), what)
        except TypeError:
            raise _invalid("%s must be a str or a path, not %r" % (what, value)) from None
    if not isinstance(value, str):
        raise _invalid("%s must be a str, not %r" % (what, value))
    return _no_nul(value.encode("utf-8"), what)


def _no_nul(encoded, what):
    # C would see the string cut at the NUL: refuse it rather than use a part.
    if b"\0" in encoded:
        raise _invalid("%s contains a NUL character" % what)
    return encoded


def _c_int(value, what):
    """An int that fits the C field; its range is the library's to check (and to explain)."""
    if isinstance(value, bool) or not isinstance(value, int) or not -2**31 <= value < 2**31:
        raise _invalid("%s must be an int, not %r" % (what, value))
    return value


def _seconds_setting(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise _invalid("%s must be a number of seconds, not %r" % (what, value))
    return float(value)


def _log_level(level):
    if level is None:
        return _abi.LOG_NONE
    if isinstance(level, str) and level.lower() in LOG_LEVELS:
        return LOG_LEVELS[level.lower()]
    if not isinstance(level, bool) and level in LOG_LEVELS.values():
        return level
    raise _invalid("log_level must be one of %s, not %r" % (", ".join(LOG_LEVELS), level))


class _Capture:
    """Hold back the error lines the library logs on this thread during one call:
    they become the reason of the VqaError when the call fails, and go to the
    logger as usual when it succeeds."""

    def __init__(self, forward):
        self.forward = forward
        self.lines = []

    def __enter__(self):
        _captures.lines = self.lines
        return self

    def __exit__(self, *exc):
        _captures.lines = None

    def reason(self, default=None):
        return "; ".join(self.lines) if self.lines else default

    def release(self):
        """The call succeeded: log what was held back."""
        for line in self.lines:
            self.forward(_abi.LOG_ERROR, line)


def _event_sink(lib, events):
    """The C event callback. It runs on library threads: it only turns the
    event into its JSON line (vqa_event_to_json, as the tool prints it) and
    queues it; it never blocks and never lets an exception reach C."""

    def on_event(cookie, event):
        try:
            buf = ctypes.create_string_buffer(EVENT_LINE_BYTES)
            n = lib.vqa_event_to_json(event, buf, EVENT_LINE_BYTES)
            if n >= EVENT_LINE_BYTES:
                buf = ctypes.create_string_buffer(n + 1)
                n = lib.vqa_event_to_json(event, buf, n + 1)
            if n >= 0:
                events.put(buf.raw[:n])
        except BaseException:   # noqa: B036 -- nothing may propagate into C
            pass

    return _abi.VqaEventCallback(on_event)


def _log_forwarder(logger, max_level):
    """@return forward(level, text): hands a line at or below max_level to `logger`
    (a logging.Logger or a callable(level_name, message))."""
    names = {v: k for k, v in LOG_LEVELS.items()}

    def forward(level, text):
        if level > max_level:
            return
        if isinstance(logger, logging.Logger):
            logger.log(_PY_LEVELS.get(level, logging.ERROR), "%s", text)
        else:
            logger(names.get(level, "error"), text)

    return forward


def _log_sink(forward):
    """The C log callback (any library thread, several at once). Error lines of a
    call this thread is making are held back for its VqaError (_Capture)."""

    def on_log(cookie, level, msg):
        try:
            text = _abi.text(msg) or ""
            lines = getattr(_captures, "lines", None)
            if lines is not None and level == _abi.LOG_ERROR:
                lines.append(text)
                return
            forward(level, text)
        except BaseException:   # noqa: B036 -- nothing may propagate into C
            pass

    return _abi.VqaLogCallback(on_log)


class _StreamState:
    """What a Context and its Stream objects share about one C stream handle."""

    def __init__(self, handle, stream_id, url):
        self.handle = handle
        self.id = stream_id
        self.url = url
        self.push = url is None
        self.busy = 0            # calls in progress on the handle
        self.removed = False


class _Guard:
    """Keeps handles alive while calls use them: close()/remove() stop the
    streams, wait for calls in progress, and only then free the C objects, so
    no thread ever passes a freed handle to the library."""

    def __init__(self):
        self.cond = threading.Condition()
        self.closed = False

    def enter(self, state=None):
        with self.cond:
            if self.closed:
                raise _invalid("the context is closed")
            if state is not None:
                if state.removed:
                    raise _invalid("stream %r was removed" % state.id)
                state.busy += 1

    def try_enter(self, state):
        """As enter(), but @return False instead of raising when the handle is gone."""
        with self.cond:
            if self.closed or state.removed:
                return False
            state.busy += 1
            return True

    def leave(self, state):
        with self.cond:
            state.busy -= 1
            self.cond.notify_all()

    def wait_idle(self, states):
        with self.cond:
            self.cond.wait_for(lambda: all(s.busy == 0 for s in states))


def _close_handle(lib, handle, guard, states, keep_alive):
    """Stop every stream, wait for the calls in progress, free the C context.
    `keep_alive` holds the ctypes callbacks until vqa_close has returned."""
    with guard.cond:
        if guard.closed:
            return
        guard.closed = True
        live = [s for s in states if not s.removed]
    for s in live:
        lib.vqa_stream_stop(s.handle)
    guard.wait_idle(live)
    with guard.cond:
        for s in states:
            s.removed = True
    lib.vqa_close(ctypes.byref(handle))
    del keep_alive


class Context:
    """A libvqa context: worker threads, the plugins found, and an event queue.

    Context(threads=None, plugin_paths=None, log_level="warning", *,
            io_threads=None, queue_frames=None, logger=None, library=None)

    threads       compute workers shared by all streams; 0 or None: one per core
    plugin_paths  directories searched for plugins first (then VQA_PLUGIN_PATH,
                  then the installed directory)
    log_level     "none", "error", "warning", "info", "debug" or "trace": what the
                  library formats and hands to `logger`
    io_threads    threads that open and read inputs (library default 2)
    queue_frames  frames queued per detector before the input waits (default 16)
    logger        a logging.Logger (default logging.getLogger("vqa")) or a
                  callable(level_name, message); it is called from library
                  threads, possibly several at once
    library       the libvqa to use: a path to libvqa.so.1 or its directory
                  (default: VQA_LIBRARY, pkg-config, the soname; see vqa.load_library)

    Use it as a context manager, or call close(). Every event of every stream
    is queued as the C callback delivers it; read them with events().
    Thread-safety: every method may be called from any thread.
    """

    def __init__(self, threads=None, plugin_paths=None, log_level="warning", *,
                 io_threads=None, queue_frames=None, logger=None, library=None):
        self._lib = lib = _loader.load(library)
        self._handle = ctypes.c_void_p()
        self._guard = _Guard()
        self._states = []
        self._events = queue.SimpleQueue()
        s = _abi.VqaSettings()
        lib.vqa_default_settings(ctypes.byref(s))
        if threads is not None:
            s.n_threads = _c_int(threads, "threads")
        if io_threads is not None:
            s.n_io_threads = _c_int(io_threads, "io_threads")
        if queue_frames is not None:
            s.queue_frames = _c_int(queue_frames, "queue_frames")
        if plugin_paths is not None:
            if isinstance(plugin_paths, (str, bytes, os.PathLike)):
                plugin_paths = [plugin_paths]
            encoded = [_encode(p, "a plugin path", path=True) for p in plugin_paths]
            paths = (ctypes.c_char_p * (len(encoded) + 1))(*encoded, None)
            s.plugin_paths = ctypes.cast(paths, ctypes.POINTER(ctypes.c_char_p))
        level = _log_level(log_level)
        self._forward = _log_forwarder(logging.getLogger("vqa") if logger is None else logger,
                                       level)
        self._on_event = _event_sink(lib, self._events)
        self._on_log = _log_sink(self._forward)
        s.logger.callback = self._on_log
        # Errors are always formatted: they explain a failed call (VqaError.reason).
        s.logger.level = max(level, _abi.LOG_ERROR)
        s.on_event = self._on_event
        with _Capture(self._forward) as cap:
            ret = lib.vqa_open(ctypes.byref(self._handle), ctypes.byref(s))
        if ret < 0:
            raise _error(lib, ret, cap.reason("cannot open a libvqa context"))
        cap.release()
        _open_contexts.add(self)

    # ---- lifetime ----

    def close(self):
        """Stop every stream (open defects get their end events, which stay
        readable through events()), wait for them and free the context.
        Idempotent."""
        if not getattr(self, "_handle", None):
            return
        keep_alive = (self._on_event, self._on_log)
        args = (self._lib, self._handle, self._guard, self._states, keep_alive)
        if isinstance(threading.current_thread(), threading._DummyThread):
            # Garbage collection may run on a library thread inside a callback,
            # where vqa_close would wait for that very thread: close from a
            # thread of our own instead.
            threading.Thread(target=_close_handle, args=args, daemon=True).start()
        else:
            _close_handle(*args)
        _open_contexts.discard(self)

    @property
    def closed(self):
        return self._guard.closed

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:   # noqa: BLE001 -- nothing to report to at collection time
            pass

    @property
    def library(self):
        """The vqa.Library in use (its path, version and how it was found)."""
        return self._lib

    # ---- plugins ----

    def check_detectors(self, spec):
        """Check a detector spec ("freeze:min_duration=1.5,black") against the
        plugins loaded. @raise VqaError with the library's reason."""
        msg = ctypes.create_string_buffer(SPEC_MSG_BYTES)
        encoded = _encode(spec, "detectors")
        with self._guard.cond:
            if self._guard.closed:
                raise _invalid("the context is closed")
            ret = self._lib.vqa_detector_spec_check(self._handle, encoded, msg, SPEC_MSG_BYTES)
        if ret < 0:
            reason = _abi.text(msg.value) or None
            if ret == -2 and spec is None:   # ENOENT: nothing to run
                reason = "no detector found (see plugin_paths and VQA_PLUGIN_PATH)"
            raise _error(self._lib, ret, reason)

    def plugins(self):
        """Every plugin loaded, its detectors and their options, and every plugin
        file that failed to load: the document `vqa plugins --json` prints.

        {"version": str,
         "plugins": [{"path", "name", "version", "license", "description", "abi_minor",
                      "detectors": [{"name", "description", "kinds", "temporal",
                                     "input": {...}, ["input2": {...},]
                                     "options": [{"name", "type", "default", "min",
                                                  "max", "unit", "help",
                                                  "deprecated"}]}]}],
         "failures": [{"path", "status", "reason"}]}
        min/max are None for an option without that bound.
        """
        from ._plugins import describe
        with self._guard.cond:
            if self._guard.closed:
                raise _invalid("the context is closed")
            return describe(self._lib, self._handle)

    # ---- streams ----

    def add_stream(self, url=None, id=None, detectors=None, live=False, cost="full", *,
                   decoder_threads=None, video_track=None, audio_tracks=None,
                   push_blocking=None, hwaccel=None, stall_timeout=None, io_timeout=None,
                   reconnect=None, reconnect_max_delay=None, protocols=None,
                   input_options=None, realtime=None):
        """Add a stream and start it. See Stream and docs/python.md for every setting.

        url        a path or URL to read (pull), or None for a push stream
        id         the "stream" of its events (default: its index, "0", "1", ...)
        detectors  "freeze:min_duration=1.5,black,silence"; None: every detector found
        live       drop frames for a detector that falls behind instead of waiting
        cost       "full", "light" or "keyframes"
        @raise VqaError for a bad setting or detector spec (the reason says which)
        """
        ss = _abi.VqaStreamSettings()
        self._lib.vqa_stream_default_settings(ctypes.byref(ss))
        _fill_stream_settings(ss, locals())
        handle = ctypes.c_void_p()
        with _Capture(self._forward) as cap, self._guard.cond:
            if self._guard.closed:
                raise _invalid("the context is closed")
            ret = self._lib.vqa_stream_add(self._handle, ctypes.byref(handle), ctypes.byref(ss))
            if ret >= 0:
                state = _StreamState(handle, _abi.text(self._lib.vqa_stream_id(handle)),
                                     None if url is None else os.fsdecode(url))
                self._states.append(state)
        if ret < 0:
            raise _error(self._lib, ret, cap.reason("cannot add the stream"))
        cap.release()
        return Stream(self, state)

    def streams(self):
        """The streams not removed, as Stream objects."""
        with self._guard.cond:
            return [Stream(self, s) for s in self._states if not s.removed]

    # ---- events ----

    def _all_finished(self):
        stats = _abi.VqaStreamStats()
        with self._guard.cond:
            if self._guard.closed:
                return True
            for s in self._states:
                if s.removed:
                    continue
                self._lib.vqa_stream_get_stats(s.handle, ctypes.byref(stats))
                if not stats.finished:
                    return False
        return True

    def events(self, timeout=None):
        """Yield every event of every stream as a dict, in the order the library
        delivered them (EVENTS.md; the same objects `vqa scan` prints).

        The iteration ends once every stream has finished (or the context is
        closed) and every event queued has been yielded, or when `timeout`
        seconds pass without an event. Streams added while iterating count.
        One consumer at a time.
        """
        last = time.monotonic()
        while True:
            try:
                line = self._events.get(timeout=POLL_S)
            except queue.Empty:
                if self._all_finished() and self._events.empty():
                    return
                if timeout is not None and time.monotonic() - last >= timeout:
                    return
                continue
            last = time.monotonic()
            yield json.loads(line)

    def __repr__(self):
        state = "closed" if self.closed else "%d stream(s)" % len(self._states)
        return "<vqa.Context %s, libvqa %s>" % (state, self._lib.version)


def _fill_stream_settings(ss, args):
    """Copy the add_stream arguments that were given into the C settings; those
    left None keep the library's defaults."""
    ss.id = _encode(args["id"], "id")
    ss.url = _encode(args["url"], "url", path=True)
    ss.detectors = _encode(args["detectors"], "detectors")
    ss.live = 1 if args["live"] else 0
    cost = args["cost"]
    if isinstance(cost, str):
        if cost.lower() not in COSTS:
            raise _invalid("cost must be 'full', 'light' or 'keyframes', not %r" % (cost,))
        ss.cost = COSTS[cost.lower()]
    else:
        ss.cost = _c_int(cost, "cost")
    if args["decoder_threads"] is not None:
        ss.decoder_threads = _c_int(args["decoder_threads"], "decoder_threads")
    ss.video_track = _track(args["video_track"], "video_track",
                            {"first": _abi.TRACK_FIRST, "none": _abi.TRACK_NONE},
                            ss.video_track)
    ss.audio_tracks = _track(args["audio_tracks"], "audio_tracks",
                             {"all": _abi.TRACKS_ALL, "none": _abi.TRACK_NONE},
                             ss.audio_tracks)
    if args["push_blocking"] is not None:
        ss.push_blocking = 1 if args["push_blocking"] else 0
    ss.hwaccel = _encode(args["hwaccel"], "hwaccel")
    for key in ("stall_timeout", "io_timeout", "reconnect_max_delay"):
        if args[key] is not None:
            setattr(ss, key, _seconds_setting(args[key], key))
    reconnect = args["reconnect"]
    if reconnect == "forever" or reconnect is True:
        ss.reconnect = _abi.RECONNECT_FOREVER
    elif reconnect is not None and reconnect is not False:
        ss.reconnect = _c_int(reconnect, "reconnect")
    protocols = args["protocols"]
    if isinstance(protocols, (list, tuple)):
        protocols = ",".join(protocols)
    ss.protocols = _encode(protocols, "protocols")
    options = args["input_options"]
    if isinstance(options, dict):
        options = ":".join("%s=%s" % (k, v) for k, v in options.items())
    ss.input_options = _encode(options, "input_options")
    if args["realtime"] is not None:
        ss.realtime = 1 if args["realtime"] else 0


def _track(value, what, names, default):
    if value is None:
        return default
    if isinstance(value, str):
        if value.lower() not in names:
            raise _invalid("%s must be an int or %s, not %r" % (what, " or ".join(names), value))
        return names[value.lower()]
    return _c_int(value, what)


class Stream:
    """One input of a Context (made by Context.add_stream).

    Thread-safety: every method may be called from any thread; remove() and
    the context's close() wait for calls in progress before freeing anything.
    """

    def __init__(self, context, state):
        self._ctx = context
        self._lib = context._lib
        self._state = state

    @property
    def id(self):
        return self._state.id

    @property
    def url(self):
        """The input read (pull), or None for a push stream."""
        return self._state.url

    @property
    def context(self):
        return self._ctx

    def _call(self, name, *args):
        guard = self._ctx._guard
        guard.enter(self._state)
        try:
            return getattr(self._lib, name)(self._state.handle, *args)
        finally:
            guard.leave(self._state)

    def _call_if_open(self, name, *args):
        """As _call, but @return None when the stream was removed or its context closed."""
        guard = self._ctx._guard
        if not guard.try_enter(self._state):
            return None
        try:
            return getattr(self._lib, name)(self._state.handle, *args)
        finally:
            guard.leave(self._state)

    def _check(self, ret, reason=None):
        if ret < 0:
            raise _error(self._lib, ret, reason)
        return ret

    # ---- push ----

    def _push(self, name, struct):
        ret = self._call(name, ctypes.byref(struct))
        if ret == EAGAIN:
            return False
        if ret < 0:
            what = "picture" if "picture" in name else "samples"
            raise _error(self._lib, ret, "stream %r refused the %s" % (self.id, what))
        return True

    def push_picture(self, data, width, height, pts, time_base=(1, 90000), *,
                     pix_fmt="gray8", linesize=None, color_range=None, key=False,
                     corrupt=False):
        """Push one picture (push streams only), in presentation order.

        data        the planes: one buffer per plane, or one buffer holding them
                    all one after the other (bytes, bytearray, memoryview, array...)
        pts         presentation time in time_base units
        pix_fmt     "gray8", "yuv420p", "yuv422p", "yuv444p", "nv12", "rgb24", "rgba"
        linesize    bytes per row of each plane; default: the rows tightly packed
        color_range None, "limited" or "full"
        The library copies the pixels before returning: the buffers stay the caller's.
        @return True, or False when the stream was added with push_blocking=False
                and its queue is full (the picture was not taken)
        @raise VqaError for a malformed picture, a pull stream, or a stream that
               was ended or stopped
        """
        lent = _media.Lent()
        try:
            pic = _media.picture(lent, data, width, height, pts, time_base, pix_fmt,
                                 linesize, color_range, key, corrupt)
            return self._push("vqa_stream_push_picture", pic)
        finally:
            lent.release()

    def push_samples(self, data, sample_rate, channels, pts, time_base=None, *,
                     sample_fmt="s16", track=0):
        """Push audio samples (push streams only).

        data        interleaved formats (s16, s32, flt): one buffer; planar ones
                    (s16p, s32p, fltp): one buffer per channel, or one holding
                    the channel planes one after the other
        pts         in time_base units; time_base defaults to (1, sample_rate)
        track       the audio track, 0 for the first
        @return and @raise as push_picture
        """
        lent = _media.Lent()
        try:
            samples, planes = _media.samples(lent, data, sample_rate, channels, pts,
                                             time_base, sample_fmt, track)
            return self._push("vqa_stream_push_samples", samples)
        finally:
            lent.release()

    def end(self):
        """Tell a push stream no more input comes: detectors flush, and wait()
        returns once they are done."""
        self._check(self._call("vqa_stream_end"),
                    "stream %r is not a push stream" % self.id)

    # ---- control ----

    def stop(self):
        """Stop reading; detectors flush so open defects get their end events.
        Returns at once; idempotent; a no-op on a removed stream."""
        self._call_if_open("vqa_stream_stop")

    def wait(self, timeout=None):
        """Wait for the stream to end and its detectors to flush.

        @return True once it has ended (read to its end, or stopped; also when
                it was removed or its context closed), False when `timeout`
                seconds passed first
        @raise VqaError when the input could not be opened or read completely
               (the stream.error event says more)
        """
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        while True:
            slice_ms = WAIT_SLICE_MS
            if deadline is not None:
                slice_ms = max(0, min(slice_ms, int((deadline - time.monotonic()) * 1000)))
            ret = self._call_if_open("vqa_stream_wait", slice_ms)
            if ret is None:   # removed, or its context closed: stopped and freed
                return True
            if ret == ETIMEDOUT:
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                continue
            if ret < 0 and ret != _abi.ERROR_STOPPED:
                what = "push input" if self._state.push else self._state.url
                raise _error(self._lib, ret, "stream %r: %s could not be read to its end"
                             % (self.id, what))
            return True

    def remove(self):
        """Stop the stream, wait for it and free it. Idempotent."""
        guard = self._ctx._guard
        with guard.cond:
            if guard.closed or self._state.removed:
                return
            self._state.removed = True
        self._lib.vqa_stream_stop(self._state.handle)
        guard.wait_idle([self._state])
        self._lib.vqa_stream_remove(ctypes.byref(self._state.handle))

    # ---- counters ----

    def stats(self):
        """The stream's counters, a snapshot (VqaStreamStats as a dict; state is
        its name: "opening", "running", "stalled", "reconnecting", "ended")."""
        st = _abi.VqaStreamStats()
        self._call("vqa_stream_get_stats", ctypes.byref(st))
        out = {name: getattr(st, name) for name, _ in _abi.VqaStreamStats._fields_
               if name != "reserved"}
        out["finished"] = bool(st.finished)
        out["state"] = _abi.text(self._lib.vqa_input_state_name(st.state))
        return out

    def detector_stats(self):
        """Counters of each detector instance started so far (VqaDetectorStats as
        dicts: name, track, type "video"/"audio", frames_analysed, frames_dropped,
        cpu_seconds, media_time)."""
        out = []
        st = _abi.VqaDetectorStats()
        types = {_abi.MEDIA_VIDEO: "video", _abi.MEDIA_AUDIO: "audio"}
        while True:
            ret = self._call("vqa_stream_get_detector_stats", len(out), ctypes.byref(st))
            if ret == ERANGE:
                return out
            self._check(ret)
            out.append({"name": _abi.text(st.name), "track": st.track,
                        "type": types.get(st.type, "none"),
                        "frames_analysed": st.frames_analysed,
                        "frames_dropped": st.frames_dropped,
                        "cpu_seconds": st.cpu_seconds, "media_time": st.media_time})

    def __repr__(self):
        kind = "push" if self._state.push else "pull"
        return "<vqa.Stream %r (%s)%s>" % (self.id, kind,
                                           " removed" if self._state.removed else "")


@atexit.register
def _close_all():
    # Library threads must not call into an interpreter that is shutting down.
    for ctx in list(_open_contexts):
        ctx.close()

