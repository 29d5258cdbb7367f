"""libvqa for Python: watch audio/video streams for defects.

A binding over libvqa's C ABI with ctypes (no compiled extension):

    import vqa
    for event in vqa.scan("clip.mp4", detectors="freeze,black,silence"):
        print(event)          # a dict, as `vqa scan` prints it (EVENTS.md)

    with vqa.Context(threads=2) as ctx:
        cam = ctx.add_stream(id="cam", detectors="freeze")   # a push stream
        cam.push_picture(pixels, 320, 240, pts=0, time_base=(1, 25))
        ...
        cam.end()
        for event in ctx.events():
            ...

libvqa.so.1 is found through vqa.Context(library=...), VQA_LIBRARY,
pkg-config or the dynamic loader: see load_library(). docs/python.md has the
whole guide.
"""
from . import _abi
from ._context import COSTS, LOG_LEVELS, Context, Stream
from ._errors import VqaError
from ._loader import Library, LibraryError
from ._loader import load as _load

__all__ = ["Context", "Stream", "VqaError", "LibraryError", "Library", "scan",
           "load_library", "library_version", "BINDING_API_VERSION",
           "LOG_LEVELS", "COSTS", "ERROR_EOF", "ERROR_INVALID_DATA", "ERROR_PLUGIN_ABI",
           "ERROR_DETECTOR", "ERROR_STOPPED"]

for _public in (Context, Stream, VqaError, LibraryError, Library):
    _public.__module__ = __name__   # tracebacks say vqa.VqaError, not vqa._errors.VqaError

#: The libvqa API this binding was written for; it needs this or a later 1.x.
BINDING_API_VERSION = (_abi.API_VERSION_MAJOR, _abi.API_VERSION_MINOR, _abi.API_VERSION_PATCH)

ERROR_EOF = _abi.ERROR_EOF
ERROR_INVALID_DATA = _abi.ERROR_INVALID_DATA
ERROR_PLUGIN_ABI = _abi.ERROR_PLUGIN_ABI
ERROR_DETECTOR = _abi.ERROR_DETECTOR
ERROR_STOPPED = _abi.ERROR_STOPPED

_CONTEXT_KEYS = ("threads", "plugin_paths", "log_level", "io_threads", "queue_frames",
                 "logger", "library")


def load_library(path=None):
    """Load libvqa and return it as a vqa.Library (path, version, found_by).

    path: libvqa.so.1 or the directory holding it. Without one: the
    VQA_LIBRARY environment variable, else pkg-config's libdir for libvqa,
    else the soname through the dynamic loader, else
    ctypes.util.find_library("vqa"). The library must be API 1.2 or a later 1.x.
    @raise LibraryError listing what was tried and how to point at the library
    """
    return _load(path)


def library_version(library=None):
    """The version string of the libvqa that load_library(library) gives."""
    return _load(library).version


def scan(path, detectors=None, **options):
    """Analyse one file or URL to its end; a generator of its events as dicts,
    the same objects `vqa scan PATH` prints, in the order the library
    delivered them.

    detectors  "freeze:min_duration=1.5,black"; None: every detector found
    options    Context settings (threads, plugin_paths, log_level, io_threads,
               queue_frames, logger, library) and add_stream settings (id,
               which defaults to "0" as in the tool, cost, live, hwaccel, ...)

    Settings and the detector spec are checked before this returns (VqaError).
    When the input cannot be opened or read, its stream.error event is yielded
    and then VqaError is raised, as `vqa scan` prints the event and exits 1.
    Stopping the iteration early (break, close()) stops the analysis.
    """
    ctx_options = {k: options.pop(k) for k in _CONTEXT_KEYS if k in options}
    options.setdefault("id", "0")
    ctx = Context(**ctx_options)
    try:
        stream = ctx.add_stream(url=path, detectors=detectors, **options)
    except BaseException:
        ctx.close()
        raise
    return _scan_events(ctx, stream)


def _scan_events(ctx, stream):
    with ctx:
        yield from ctx.events()
        stream.wait()
