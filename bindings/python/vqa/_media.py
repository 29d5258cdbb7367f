"""Pictures and samples from Python buffers, for the push streams.

The planes are lent to the library only for the duration of the push call:
the structs are built with free_cb = NULL, so libvqa copies the pixels or
samples before the call returns and Python keeps its buffers. bytes and
writable buffers (bytearray, array.array, writable memoryviews) are passed
without a copy on the Python side; other read-only buffers are copied once.

Every plane is checked against the size the format needs before any pointer
reaches C: a short buffer is an error here, never a read past its end.
"""
import ctypes

from . import _abi
from ._errors import EINVAL, VqaError

# name -> (enum, planes as (bytes per pixel, log2 horizontal, log2 vertical subsampling))
PIXEL_FORMATS = {
    "gray8": (_abi.PIX_GRAY8, ((1, 0, 0),)),
    "yuv420p": (_abi.PIX_YUV420P, ((1, 0, 0), (1, 1, 1), (1, 1, 1))),
    "yuv422p": (_abi.PIX_YUV422P, ((1, 0, 0), (1, 1, 0), (1, 1, 0))),
    "yuv444p": (_abi.PIX_YUV444P, ((1, 0, 0), (1, 0, 0), (1, 0, 0))),
    "nv12": (_abi.PIX_NV12, ((1, 0, 0), (2, 1, 1))),
    "rgb24": (_abi.PIX_RGB24, ((3, 0, 0),)),
    "rgba": (_abi.PIX_RGBA, ((4, 0, 0),)),
}

# name -> (enum, bytes per sample, planar)
SAMPLE_FORMATS = {
    "s16": (_abi.SAMPLE_S16, 2, False),
    "s32": (_abi.SAMPLE_S32, 4, False),
    "flt": (_abi.SAMPLE_FLT, 4, False),
    "s16p": (_abi.SAMPLE_S16P, 2, True),
    "s32p": (_abi.SAMPLE_S32P, 4, True),
    "fltp": (_abi.SAMPLE_FLTP, 4, True),
}

COLOR_RANGES = {None: _abi.RANGE_UNSPECIFIED, "unspecified": _abi.RANGE_UNSPECIFIED,
                "limited": _abi.RANGE_LIMITED, "tv": _abi.RANGE_LIMITED,
                "full": _abi.RANGE_FULL, "pc": _abi.RANGE_FULL}

INT_MAX = 2**31 - 1


def _invalid(reason):
    return VqaError(EINVAL, reason)


def _lookup(table, name, what):
    if isinstance(name, str) and name.lower() in table:
        return table[name.lower()]
    for entry in table.values():   # the C enum value works too
        if not isinstance(name, (str, bool)) and name == entry[0]:
            return entry
    raise _invalid("unknown %s %r (one of %s)" % (what, name, ", ".join(table)))


class Lent:
    """Holds the ctypes views of the caller's buffers until the push returns."""

    def __init__(self):
        self._keep = []

    def address(self, obj, what):
        """@return (address, size in bytes) of a C-contiguous buffer."""
        if isinstance(obj, bytes):
            if not obj:
                raise _invalid("%s is empty" % what)
            self._keep.append(obj)
            return ctypes.cast(ctypes.c_char_p(obj), ctypes.c_void_p).value or 0, len(obj)
        try:
            view = memoryview(obj)
        except TypeError:
            raise _invalid("%s is a %s, not a buffer (bytes, bytearray, memoryview, array)"
                           % (what, type(obj).__name__)) from None
        if not view.c_contiguous:
            raise _invalid("%s is not contiguous" % what)
        view = view.cast("B") if (view.ndim != 1 or view.format != "B") else view
        if view.nbytes == 0:
            raise _invalid("%s is empty" % what)
        if view.readonly:
            return self.address(view.tobytes(), what)
        array = (ctypes.c_char * view.nbytes).from_buffer(view)
        self._keep.append(array)
        return ctypes.addressof(array), view.nbytes

    def release(self):
        self._keep.clear()


def _positive_int(value, what, limit=INT_MAX):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= limit:
        raise _invalid("%s must be an int from 1 to %d, not %r" % (what, limit, value))
    return value


def _time_base(value):
    try:
        num, den = value
    except (TypeError, ValueError):
        raise _invalid("time_base must be (num, den), not %r" % (value,)) from None
    return _abi.VqaRational(_positive_int(num, "time_base num"),
                            _positive_int(den, "time_base den"))


def _pts(value):
    if isinstance(value, bool) or not isinstance(value, int) or not -2**63 <= value < 2**63:
        raise _invalid("pts must be a 64-bit int, not %r" % (value,))
    return value


def _as_planes(data):
    return list(data) if isinstance(data, (list, tuple)) else [data]


def picture(lent, data, width, height, pts, time_base, pix_fmt, linesize, color_range,
            key, corrupt):
    """Build a VqaPicture over the caller's planes (see Stream.push_picture)."""
    fmt, layout = _lookup(PIXEL_FORMATS, pix_fmt, "pixel format")
    _positive_int(width, "width", 1 << 16)
    _positive_int(height, "height", 1 << 16)
    rows = [-(-height >> ys) for _, _, ys in layout]
    row_bytes = [bpp * -(-width >> xs) for bpp, xs, _ in layout]
    if linesize is None:
        linesize = row_bytes
    linesize = _as_planes(linesize)
    if len(linesize) != len(layout):
        raise _invalid("%s has %d plane(s): %d linesize(s) given"
                       % (pix_fmt, len(layout), len(linesize)))
    for i, (ls, need) in enumerate(zip(linesize, row_bytes)):
        if isinstance(ls, bool) or not isinstance(ls, int) or not need <= ls <= INT_MAX:
            raise _invalid("linesize[%d] must be an int of at least %d bytes, not %r"
                           % (i, need, ls))
    # What av_image_copy reads from each plane: full rows, then one row's bytes.
    plane_sizes = [ls * (r - 1) + rb for ls, r, rb in zip(linesize, rows, row_bytes)]
    planes = _as_planes(data)
    addresses = []
    if len(planes) == 1 and len(layout) > 1:
        # One buffer holding every plane, one after the other (ffmpeg's rawvideo).
        base, size = lent.address(planes[0], "the picture buffer")
        need = sum(ls * r for ls, r in zip(linesize[:-1], rows[:-1])) + plane_sizes[-1]
        if size < need:
            raise _invalid("the picture buffer holds %d bytes; %dx%d %s needs %d"
                           % (size, width, height, pix_fmt, need))
        offset = 0
        for ls, r in zip(linesize, rows):
            addresses.append(base + offset)
            offset += ls * r
    elif len(planes) == len(layout):
        for i, (plane, need) in enumerate(zip(planes, plane_sizes)):
            address, size = lent.address(plane, "plane %d" % i)
            if size < need:
                raise _invalid("plane %d holds %d bytes; %dx%d %s needs %d"
                               % (i, size, width, height, pix_fmt, need))
            addresses.append(address)
    else:
        raise _invalid("%s has %d plane(s): %d given" % (pix_fmt, len(layout), len(planes)))
    pic = _abi.VqaPicture()
    pic.pix_fmt = fmt
    pic.width = width
    pic.height = height
    pic.range = _lookup_range(color_range)
    for i, address in enumerate(addresses):
        pic.data[i] = address
        pic.linesize[i] = linesize[i]
    pic.pts = _pts(pts)
    pic.time_base = _time_base(time_base)
    pic.flags = (_abi.FRAME_KEY if key else 0) | (_abi.FRAME_CORRUPT if corrupt else 0)
    return pic


def _lookup_range(color_range):
    key = color_range.lower() if isinstance(color_range, str) else color_range
    if key in COLOR_RANGES:
        return COLOR_RANGES[key]
    if key in (_abi.RANGE_UNSPECIFIED, _abi.RANGE_LIMITED, _abi.RANGE_FULL) and \
            not isinstance(key, bool):
        return key
    raise _invalid("color_range must be 'limited', 'full' or None, not %r" % (color_range,))


def samples(lent, data, sample_rate, channels, pts, time_base, sample_fmt, track):
    """Build a VqaSamples over the caller's buffer(s) (see Stream.push_samples).

    @return (VqaSamples, the plane pointer array it points to)
    """
    fmt, bps, planar = _lookup(SAMPLE_FORMATS, sample_fmt, "sample format")
    _positive_int(sample_rate, "sample_rate")
    _positive_int(channels, "channels", 64)
    if isinstance(track, bool) or not isinstance(track, int) or not 0 <= track < 16:
        raise _invalid("track must be an int from 0 to 15, not %r" % (track,))
    buffers = _as_planes(data)
    spans = [lent.address(b, "samples buffer %d" % i) for i, b in enumerate(buffers)]
    if planar and len(spans) == 1 and channels > 1:
        # One buffer holding every channel's plane, one after the other.
        base, size = spans[0]
        if size % (bps * channels):
            raise _invalid("%d bytes are not whole %s samples of %d planes"
                           % (size, sample_fmt, channels))
        step = size // channels
        spans = [(base + c * step, step) for c in range(channels)]
    expected = channels if planar else 1
    if len(spans) != expected:
        raise _invalid("%s with %d channel(s) takes %d buffer(s): %d given"
                       % (sample_fmt, channels, expected, len(spans)))
    frame_bytes = bps * (1 if planar else channels)
    sizes = {size for _, size in spans}
    size = spans[0][1]
    if len(sizes) != 1 or size % frame_bytes:
        raise _invalid("the %s buffers hold %s bytes: not the same whole number of samples"
                       % (sample_fmt, sorted(sizes)))
    nb_samples = size // frame_bytes
    if nb_samples > INT_MAX:
        raise _invalid("too many samples in one push (%d)" % nb_samples)
    planes = (ctypes.c_void_p * len(spans))(*[address for address, _ in spans])
    out = _abi.VqaSamples()
    out.sample_fmt = fmt
    out.sample_rate = sample_rate
    out.channels = channels
    out.nb_samples = nb_samples
    out.planes = ctypes.cast(planes, ctypes.POINTER(ctypes.c_void_p))
    out.track = track
    out.pts = _pts(pts)
    out.time_base = _time_base(time_base if time_base is not None else (1, sample_rate))
    return out, planes
