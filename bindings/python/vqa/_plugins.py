"""The plugin listing: VqaPluginInfo, VqaDetectorClass and VqaOption tables as
plain data, in the shape of `vqa plugins --json` (tools/plugins_cmd.c)."""
import math
import sys

from . import _abi
from ._abi import text

_DBL_MAX = sys.float_info.max


def _bound(option, value):
    """A range bound, or None when the option has none (±DBL_MAX or infinite)."""
    if option.type not in (_abi.OPT_INT, _abi.OPT_DOUBLE):
        return None
    if not math.isfinite(value) or abs(value) >= _DBL_MAX:
        return None
    return _number(option, value)


def _number(option, value):
    return int(value) if option.type == _abi.OPT_INT and value.is_integer() else value


def _option(lib, o):
    if o.type == _abi.OPT_BOOL:
        default = o.default_num != 0
    elif o.type == _abi.OPT_STRING:
        default = text(o.default_str)
    else:
        default = _number(o, o.default_num)
    return {
        "name": text(o.name),
        "type": text(lib.vqa_option_type_name(o.type)),
        "default": default,
        "min": _bound(o, o.min),
        "max": _bound(o, o.max),
        "unit": text(o.unit),
        "help": text(o.help),
        "deprecated": bool(o.flags & _abi.OPT_FLAG_DEPRECATED),
    }


def _input(lib, spec):
    if spec.type == _abi.MEDIA_VIDEO:
        out = {"type": "video", "pix_fmt": text(lib.vqa_pixel_format_name(spec.pix_fmt)),
               "max_width": spec.max_width, "max_height": spec.max_height}
    else:
        out = {"type": "audio", "sample_fmt": text(lib.vqa_sample_format_name(spec.sample_fmt)),
               "sample_rate": spec.sample_rate, "channels": spec.channels}
    out["max_rate_hz"] = spec.max_rate_hz
    return out


def _strings(array):
    out = []
    i = 0
    while array and array[i] is not None:
        out.append(text(array[i]))
        i += 1
    return out


def _detector(lib, d):
    out = {
        "name": text(d.name),
        "description": text(d.description),
        "kinds": _strings(d.kinds),
        "temporal": bool(d.flags & _abi.DETECTOR_TEMPORAL),
        "input": _input(lib, d.input),
    }
    if d.input2.type != _abi.MEDIA_NONE:
        out["input2"] = _input(lib, d.input2)
    options = []
    i = 0
    while d.options and d.options[i].name is not None:
        options.append(_option(lib, d.options[i]))
        i += 1
    out["options"] = options
    return out


def _plugin(lib, p):
    return {
        "path": text(p.path),
        "name": text(p.name),
        "version": text(p.version),
        "license": text(p.license),
        "description": text(p.description),
        "abi_minor": p.abi_minor,
        "detectors": [_detector(lib, p.detectors[j].contents) for j in range(p.nb_detectors)],
    }


def describe(lib, handle):
    """@return the listing of a context's plugins (see Context.plugins)."""
    plugins = []
    for i in range(lib.vqa_plugin_count(handle)):
        plugins.append(_plugin(lib, lib.vqa_plugin_get(handle, i).contents))
    failures = []
    for i in range(lib.vqa_plugin_failure_count(handle)):
        f = lib.vqa_plugin_failure_get(handle, i).contents
        failures.append({"path": text(f.path),
                         "status": text(lib.vqa_plugin_status_name(f.status)),
                         "reason": text(f.reason)})
    return {"version": lib.version, "plugins": plugins, "failures": failures}
