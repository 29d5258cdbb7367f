"""ctypes mirrors of the public C structs, constants and function prototypes.

Every struct here has the layout of its C twin in include/vqa/*.h, API 1.2,
field for field (including the reserved bytes, so sizes match).
tests/test_abi.py compares each size and offset with what the C compiler
says, so a header change that is not mirrored here fails the suite.
"""
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char, c_char_p, c_double, c_int,
                    c_int64, c_size_t, c_ssize_t, c_uint, c_uint8, c_uint32, c_void_p)

# ---- version.h ----
API_VERSION_MAJOR = 1
API_VERSION_MINOR = 2   # the binding uses 1.2 fields: it needs a 1.2 library
API_VERSION_PATCH = 0

# ---- common.h: named error codes beyond errno (VQA_ERR(e) is -e) ----
ERROR_EOF = -0x5651000
ERROR_INVALID_DATA = ERROR_EOF + 1
ERROR_PLUGIN_ABI = ERROR_EOF + 2
ERROR_DETECTOR = ERROR_EOF + 3
ERROR_STOPPED = ERROR_EOF + 4

# ---- log.h ----
LOG_NONE, LOG_ERROR, LOG_WARNING, LOG_INFO, LOG_DEBUG, LOG_TRACE = range(6)

# ---- frame.h ----
MEDIA_NONE, MEDIA_VIDEO, MEDIA_AUDIO = range(3)
PIX_NONE, PIX_GRAY8, PIX_YUV420P, PIX_YUV422P, PIX_YUV444P, PIX_NV12, PIX_RGB24, PIX_RGBA = \
    range(8)
SAMPLE_NONE, SAMPLE_S16, SAMPLE_S32, SAMPLE_FLT, SAMPLE_S16P, SAMPLE_S32P, SAMPLE_FLTP = range(7)
RANGE_UNSPECIFIED, RANGE_LIMITED, RANGE_FULL = range(3)
FRAME_KEY = 1 << 0
FRAME_CORRUPT = 1 << 1
FRAME_DISCONTINUITY = 1 << 2

# ---- event.h ----
EVENT_CONTRACT_VERSION = 1
EVENT_START, EVENT_END, EVENT_INSTANT = 1, 2, 3
SEVERITY_INFO, SEVERITY_WARNING, SEVERITY_ERROR = 1, 2, 3

# ---- options.h ----
OPT_NONE, OPT_BOOL, OPT_INT, OPT_DOUBLE, OPT_STRING = range(5)
OPT_FLAG_DEPRECATED = 1 << 0

# ---- plugin.h ----
DETECTOR_TEMPORAL = 1 << 0

# ---- stream.h ----
TRACKS_ALL = -1
TRACK_FIRST = -1
TRACK_NONE = -2
RECONNECT_FOREVER = -1
COST_FULL, COST_LIGHT, COST_KEYFRAMES = range(3)
INPUT_OPENING, INPUT_RUNNING, INPUT_STALLED, INPUT_RECONNECTING, INPUT_ENDED = range(5)

# C enums are int-sized on every ABI libvqa targets.
c_enum = c_int


class VqaRational(Structure):
    _fields_ = [("num", c_int), ("den", c_int)]


class VqaEvent(Structure):
    _fields_ = [
        ("stream", c_char_p),
        ("detector", c_char_p),
        ("kind", c_char_p),
        ("state", c_enum),
        ("t", c_double),
        ("duration", c_double),
        ("value", c_double),
        ("has_value", c_int),
        ("severity", c_enum),
        ("details_json", c_char_p),
        ("reserved", c_uint8 * 32),
    ]


VqaLogCallback = CFUNCTYPE(None, c_void_p, c_enum, c_char_p)
VqaEventCallback = CFUNCTYPE(None, c_void_p, POINTER(VqaEvent))
VqaFreeCallback = CFUNCTYPE(None, c_void_p)


class VqaLogger(Structure):
    _fields_ = [("callback", VqaLogCallback), ("cookie", c_void_p), ("level", c_enum)]


class VqaSettings(Structure):
    _fields_ = [
        ("n_threads", c_int),
        ("n_io_threads", c_int),
        ("queue_frames", c_int),
        ("logger", VqaLogger),
        ("on_event", VqaEventCallback),
        ("event_cookie", c_void_p),
        ("plugin_paths", POINTER(c_char_p)),
        ("reserved", c_uint8 * 64),
    ]


class VqaStreamSettings(Structure):
    _fields_ = [
        ("id", c_char_p),
        ("url", c_char_p),
        ("detectors", c_char_p),
        ("decoder_threads", c_int),
        ("video_track", c_int),
        ("audio_tracks", c_int),
        ("live", c_int),
        ("push_blocking", c_int),
        ("cost", c_int),
        ("hwaccel", c_char_p),
        ("stall_timeout", c_double),          # since 1.2
        ("io_timeout", c_double),             # since 1.2
        ("reconnect_max_delay", c_double),    # since 1.2
        ("protocols", c_char_p),              # since 1.2
        ("input_options", c_char_p),          # since 1.2
        ("reconnect", c_int),                 # since 1.2
        ("realtime", c_int),                  # since 1.2
        ("reserved", c_uint8 * 8),
    ]


class VqaPicture(Structure):
    _fields_ = [
        ("pix_fmt", c_enum),
        ("width", c_int),
        ("height", c_int),
        ("range", c_enum),
        ("data", c_void_p * 4),
        ("linesize", c_ssize_t * 4),          # ptrdiff_t
        ("pts", c_int64),
        ("time_base", VqaRational),
        ("flags", c_uint32),
        ("free_cb", VqaFreeCallback),
        ("opaque", c_void_p),
        ("reserved", c_uint8 * 32),
    ]


class VqaSamples(Structure):
    _fields_ = [
        ("sample_fmt", c_enum),
        ("sample_rate", c_int),
        ("channels", c_int),
        ("nb_samples", c_int),
        ("planes", POINTER(c_void_p)),
        ("track", c_int),
        ("pts", c_int64),
        ("time_base", VqaRational),
        ("free_cb", VqaFreeCallback),
        ("opaque", c_void_p),
        ("reserved", c_uint8 * 32),
    ]


class VqaStreamStats(Structure):
    _fields_ = [
        ("packets_read", c_int64),
        ("frames_decoded", c_int64),
        ("frames_analysed", c_int64),
        ("frames_dropped", c_int64),
        ("decode_errors", c_int64),
        ("events", c_int64),
        ("media_time", c_double),
        ("duration", c_double),
        ("finished", c_int),
        ("state", c_int),                     # since 1.2
        ("reconnects", c_int),                # since 1.2
        ("latency", c_double),                # since 1.2
        ("reserved", c_uint8 * 16),
    ]


class VqaDetectorStats(Structure):           # since 1.2
    _fields_ = [
        ("name", c_char * 64),
        ("track", c_int),
        ("type", c_enum),
        ("frames_analysed", c_int64),
        ("frames_dropped", c_int64),
        ("cpu_seconds", c_double),
        ("media_time", c_double),
        ("reserved", c_uint8 * 32),
    ]


class VqaOption(Structure):
    _fields_ = [
        ("name", c_char_p),
        ("help", c_char_p),
        ("unit", c_char_p),
        ("type", c_enum),
        ("offset", c_size_t),
        ("default_num", c_double),
        ("default_str", c_char_p),
        ("min", c_double),
        ("max", c_double),
        ("flags", c_uint32),
        ("reserved", c_void_p * 2),
    ]


class VqaInputSpec(Structure):
    _fields_ = [
        ("type", c_enum),
        ("pix_fmt", c_enum),
        ("max_width", c_int),
        ("max_height", c_int),
        ("max_rate_hz", c_double),
        ("sample_fmt", c_enum),
        ("sample_rate", c_int),
        ("channels", c_int),
    ]


class VqaDetectorClass(Structure):
    # The host's full-size copy (VqaPluginInfo.detectors): every field is there.
    _fields_ = [
        ("struct_size", c_uint32),
        ("name", c_char_p),
        ("description", c_char_p),
        ("kinds", POINTER(c_char_p)),
        ("flags", c_uint32),
        ("priv_size", c_size_t),
        ("options", POINTER(VqaOption)),
        ("input", VqaInputSpec),
        ("init", c_void_p),
        ("process", c_void_p),
        ("flush", c_void_p),
        ("close", c_void_p),
        ("input2", VqaInputSpec),             # ABI 1.1
    ]


class VqaPluginInfo(Structure):
    _fields_ = [
        ("path", c_char_p),
        ("name", c_char_p),
        ("version", c_char_p),
        ("license", c_char_p),
        ("description", c_char_p),
        ("abi_minor", c_uint32),
        ("nb_detectors", c_size_t),
        ("detectors", POINTER(POINTER(VqaDetectorClass))),
    ]


class VqaPluginFailure(Structure):
    _fields_ = [("path", c_char_p), ("status", c_enum), ("reason", c_char_p)]


# Every struct the tests compare with the C layout.
STRUCTS = (VqaRational, VqaEvent, VqaLogger, VqaSettings, VqaStreamSettings, VqaPicture,
           VqaSamples, VqaStreamStats, VqaDetectorStats, VqaOption, VqaInputSpec,
           VqaDetectorClass, VqaPluginInfo, VqaPluginFailure)

_handle_p = POINTER(c_void_p)

# name: (restype, argtypes). Checked at load: a missing symbol is a library
# too old or not libvqa at all.
PROTOTYPES = {
    "vqa_strerror": (c_char_p, [c_int]),
    "vqa_version": (c_char_p, []),
    "vqa_version_api": (c_uint, []),
    "vqa_log_level_name": (c_char_p, [c_enum]),
    "vqa_event_state_name": (c_char_p, [c_enum]),
    "vqa_severity_name": (c_char_p, [c_enum]),
    "vqa_event_to_json": (c_int, [POINTER(VqaEvent), c_void_p, c_size_t]),
    "vqa_option_type_name": (c_char_p, [c_enum]),
    "vqa_pixel_format_name": (c_char_p, [c_enum]),
    "vqa_sample_format_name": (c_char_p, [c_enum]),
    "vqa_sample_format_bytes": (c_int, [c_enum]),
    "vqa_default_settings": (None, [POINTER(VqaSettings)]),
    "vqa_open": (c_int, [_handle_p, POINTER(VqaSettings)]),
    "vqa_close": (None, [_handle_p]),
    "vqa_plugin_status_name": (c_char_p, [c_enum]),
    "vqa_plugin_count": (c_size_t, [c_void_p]),
    "vqa_plugin_get": (POINTER(VqaPluginInfo), [c_void_p, c_size_t]),
    "vqa_plugin_failure_count": (c_size_t, [c_void_p]),
    "vqa_plugin_failure_get": (POINTER(VqaPluginFailure), [c_void_p, c_size_t]),
    "vqa_detector_spec_check": (c_int, [c_void_p, c_char_p, c_void_p, c_size_t]),
    "vqa_stream_default_settings": (None, [POINTER(VqaStreamSettings)]),
    "vqa_stream_add": (c_int, [c_void_p, _handle_p, POINTER(VqaStreamSettings)]),
    "vqa_stream_id": (c_char_p, [c_void_p]),
    "vqa_stream_wait": (c_int, [c_void_p, c_int]),
    "vqa_stream_stop": (None, [c_void_p]),
    "vqa_stream_remove": (None, [_handle_p]),
    "vqa_stream_push_picture": (c_int, [c_void_p, POINTER(VqaPicture)]),
    "vqa_stream_push_samples": (c_int, [c_void_p, POINTER(VqaSamples)]),
    "vqa_stream_end": (c_int, [c_void_p]),
    "vqa_stream_get_stats": (None, [c_void_p, POINTER(VqaStreamStats)]),
    "vqa_input_state_name": (c_char_p, [c_int]),
    "vqa_stream_get_detector_stats": (c_int, [c_void_p, c_size_t, POINTER(VqaDetectorStats)]),
}


def bind(cdll):
    """Give every function of PROTOTYPES its types; raise AttributeError for a missing one."""
    for name, (restype, argtypes) in PROTOTYPES.items():
        fn = getattr(cdll, name)
        fn.restype = restype
        fn.argtypes = argtypes


def text(value):
    """A C string (bytes or None) as str (or None); bad UTF-8 is replaced, never raised."""
    return None if value is None else value.decode("utf-8", "replace")

