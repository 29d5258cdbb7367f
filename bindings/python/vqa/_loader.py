"""Finding and loading libvqa.

The order, first usable wins:
  1. the path given to load() (vqa.Context(library=...)),
  2. the VQA_LIBRARY environment variable,
  3. pkg-config: `pkg-config --variable=libdir libvqa`, then LIBDIR/libvqa.so.1,
  4. the soname, libvqa.so.1, through the dynamic loader (LD_LIBRARY_PATH,
     the ld.so cache, the default directories),
  5. whatever ctypes.util.find_library("vqa") names.
An explicit path (1 or 2) is the only candidate: when it fails, nothing else
is tried, so a typo is never hidden by another libvqa found elsewhere.

A library that loads is also checked: it must be ABI major 1, API 1.2 or
newer (vqa_version_api), and export every function the binding calls.
"""
import ctypes
import ctypes.util
import os
import subprocess
import threading

from . import _abi

SONAME = "libvqa.so.%d" % _abi.API_VERSION_MAJOR
ENV_VAR = "VQA_LIBRARY"
PKG_CONFIG_TIMEOUT_S = 10

_lock = threading.Lock()
_loaded = {}   # the key load() was asked for -> Library


class LibraryError(OSError):
    """No usable libvqa: not found, not loadable, or of an API the binding cannot use.

    `tried` lists (where, what happened) for every candidate, in order.
    """

    def __init__(self, message, tried=()):
        super().__init__(message)
        self.tried = list(tried)


class Library:
    """A loaded libvqa: the ctypes handle with typed functions, and where it came from."""

    def __init__(self, cdll, path, found_by):
        self.cdll = cdll
        self.path = path
        self.found_by = found_by
        self.api_version = cdll.vqa_version_api()
        self.version = _abi.text(cdll.vqa_version())

    def strerror(self, code):
        return _abi.text(self.cdll.vqa_strerror(int(code)))

    def __getattr__(self, name):
        return getattr(self.cdll, name)

    def __repr__(self):
        return "<vqa.Library %s at %s (found by %s)>" % (self.version, self.path, self.found_by)


def _file_of(cdll, fallback):
    """The file a handle was loaded from (dladdr on one of its symbols)."""

    class DlInfo(ctypes.Structure):
        _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                    ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]

    try:
        dladdr = ctypes.CDLL(None).dladdr
        dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(DlInfo)]
        info = DlInfo()
        addr = ctypes.cast(cdll.vqa_version, ctypes.c_void_p)
        if dladdr(addr, ctypes.byref(info)) and info.dli_fname:
            return os.fsdecode(info.dli_fname)
    except (AttributeError, OSError):
        pass
    return fallback


def _open(path, found_by):
    """Load one candidate. @return a Library; raise OSError with the reason when unusable."""
    cdll = ctypes.CDLL(path)
    try:
        api = cdll.vqa_version_api
    except AttributeError:
        raise OSError("loaded, but it has no vqa_version_api: not libvqa") from None
    api.restype = ctypes.c_uint
    api.argtypes = []
    version = api()
    major, minor, patch = version >> 16, (version >> 8) & 0xFF, version & 0xFF
    if major != _abi.API_VERSION_MAJOR or minor < _abi.API_VERSION_MINOR:
        raise OSError("it is libvqa %d.%d.%d; this binding needs %d.%d or a later %d.x"
                      % (major, minor, patch, _abi.API_VERSION_MAJOR, _abi.API_VERSION_MINOR,
                         _abi.API_VERSION_MAJOR))
    try:
        _abi.bind(cdll)
    except AttributeError as e:
        raise OSError("it lacks a function the binding needs (%s)" % e) from None
    return Library(cdll, _file_of(cdll, path), found_by)


def _explicit(path):
    """A path given by the user: a file, or a directory holding the soname."""
    path = os.fspath(path)
    if os.path.isdir(path):
        return os.path.join(path, SONAME)
    return path


def _pkg_config_libdir():
    """@return (libdir or None, why not)."""
    prog = os.environ.get("PKG_CONFIG") or "pkg-config"
    try:
        out = subprocess.run([prog, "--variable=libdir", "libvqa"], capture_output=True,
                             text=True, timeout=PKG_CONFIG_TIMEOUT_S, check=False)
    except FileNotFoundError:
        return None, "%s is not installed" % prog
    except (OSError, subprocess.SubprocessError) as e:
        return None, "%s failed: %s" % (prog, e)
    libdir = out.stdout.strip()
    if out.returncode != 0 or not libdir:
        where = os.environ.get("PKG_CONFIG_PATH")
        return None, "libvqa.pc not found (PKG_CONFIG_PATH=%s)" % (where if where else "unset")
    return libdir, None


def _candidates():
    """Yield (where, path or None, why not) for the search after an explicit path."""
    libdir, why = _pkg_config_libdir()
    where = "pkg-config --variable=libdir libvqa"
    yield (where, os.path.join(libdir, SONAME) if libdir else None, why)
    yield ("the soname %s through the dynamic loader" % SONAME, SONAME, None)
    name = ctypes.util.find_library("vqa")
    if name and name != SONAME:
        yield ("ctypes.util.find_library('vqa')", name, None)
    elif not name:
        yield ("ctypes.util.find_library('vqa')", None, "found nothing")


def _how_to_point():
    return ("Point the binding at it with vqa.Context(library='/path/to/%s'), or "
            "%s=/path/to/%s, or let pkg-config find it "
            "(PKG_CONFIG_PATH=PREFIX/lib/pkgconfig)." % (SONAME, ENV_VAR, SONAME))


def _search():
    tried = []
    env = os.environ.get(ENV_VAR)
    if env:
        path = _explicit(env)
        try:
            return _open(path, ENV_VAR)
        except OSError as e:
            tried.append(("%s=%s" % (ENV_VAR, env), str(e)))
            raise LibraryError("libvqa could not be loaded from %s=%s: %s\n%s"
                               % (ENV_VAR, env, e, _how_to_point()), tried) from None
    tried.append((ENV_VAR, "not set"))
    for where, path, why in _candidates():
        if path is None:
            tried.append((where, why))
            continue
        try:
            return _open(path, where)
        except OSError as e:
            why = str(e) if path in str(e) else "%s: %s" % (path, e)
            tried.append((where, why))
    lines = "\n".join("  - %s: %s" % item for item in tried)
    raise LibraryError("libvqa was not found. Tried, in order:\n%s\n%s"
                       % (lines, _how_to_point()), tried)


def load(path=None):
    """Load libvqa (once per path; the search result is kept too).

    @param path a file, or a directory holding libvqa.so.1; None: search.
    @raise LibraryError saying what was tried and how to point at the library.
    """
    key = None if path is None else _explicit(path)
    with _lock:
        lib = _loaded.get(key)
        if lib is not None:
            return lib
        if key is None:
            lib = _search()
        else:
            try:
                lib = _open(key, "library argument")
            except OSError as e:
                raise LibraryError("libvqa could not be loaded from library=%r: %s\n%s"
                                   % (os.fspath(path), e, _how_to_point()),
                                   [("library=%s" % key, str(e))]) from None
        _loaded[key] = lib
        return lib
