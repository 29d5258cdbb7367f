#!/usr/bin/env bash
# Build and test libvqa the way CI does:
#   1. the test suite in a normal build,
#   2. the suite again under AddressSanitizer and UndefinedBehaviorSanitizer,
#      and the threaded core (pool, frames, bus, push, pipeline, live inputs, sinks) under ThreadSanitizer,
#   3. an install check: install into a temporary prefix, build the example
#      third-party plugin out of tree against the installed headers and
#      libvqa.pc only, and check that the installed vqa loads it.
#
#   ./scripts/test.sh   (VQA_BUILD_DIR, VQA_ASAN_BUILD_DIR, VQA_TSAN_BUILD_DIR pick other build dirs)
set -euo pipefail
cd "$(dirname "$0")/.."

build=${VQA_BUILD_DIR:-build}
asan_build=${VQA_ASAN_BUILD_DIR:-build-asan}
tsan_build=${VQA_TSAN_BUILD_DIR:-build-tsan}

step() { printf '\n== %s\n' "$*"; }

./scripts/setup.sh

step "build ($build)"
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build"
fi
ninja -C "$build"

step "tests"
meson test -C "$build" --print-errorlogs

step "tests under address and undefined-behaviour sanitizers ($asan_build)"
if [ ! -f "$asan_build/build.ninja" ]; then
    meson setup "$asan_build" -Db_sanitize=address,undefined -Db_lundef=false -Dexamples=false
fi
ninja -C "$asan_build"
meson test -C "$asan_build" --print-errorlogs --timeout-multiplier 3

step "threaded core under thread sanitizer ($tsan_build)"
if [ ! -f "$tsan_build/build.ninja" ]; then
    meson setup "$tsan_build" -Db_sanitize=thread -Db_lundef=false -Dexamples=false -Dtools=false
fi
ninja -C "$tsan_build"
# libsrt's own threads race with each other (tests/tsan.supp says which); nothing else is suppressed.
TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp ${TSAN_OPTIONS:-}" \
    meson test -C "$tsan_build" --print-errorlogs --timeout-multiplier 3 \
    test_pool test_frame test_bus test_push test_pipeline test_live test_sink test_sink_webhook

step "install check"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vqa-install-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
meson setup "$tmp/build" --prefix="$prefix" --libdir=lib --buildtype=release \
    -Dtests=false -Dexamples=false -Dpython=enabled >/dev/null
ninja -C "$tmp/build" >/dev/null
meson install -C "$tmp/build" --quiet

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
export LD_LIBRARY_PATH=$prefix/lib
echo "pkg-config: $(pkg-config --modversion libvqa)," \
    "plugins in $(pkg-config --variable=pluginsdir libvqa)"

# Out of tree: a copy of the example, nothing from this source tree on its include path.
cp -R examples/plugin "$tmp/plugin"
make -C "$tmp/plugin" >/dev/null
make -C "$tmp/plugin" install >/dev/null                       # into pluginsdir
make -C "$tmp/plugin" install PLUGINSDIR="$tmp/extra" >/dev/null  # for --plugin-path

installed_vqa=$prefix/bin/vqa
plugins_out=$(env -u VQA_PLUGIN_PATH -u VQA_PLUGIN_SYSTEM_PATH "$installed_vqa" plugins)
for det in freeze black silence brightness; do
    if ! grep -q "detector $det:" <<<"$plugins_out"; then
        echo "install check: the installed vqa does not list '$det':" >&2
        echo "$plugins_out" >&2
        exit 1
    fi
done
echo "installed vqa lists freeze, black, silence and brightness from the plugin dir"

json_out=$(env -u VQA_PLUGIN_PATH VQA_PLUGIN_SYSTEM_PATH='' \
    "$installed_vqa" plugins --json --plugin-path "$tmp/extra")
if ! grep -q '"name":"brightness"' <<<"$json_out"; then
    echo "install check: --plugin-path $tmp/extra did not load brightness:" >&2
    echo "$json_out" >&2
    exit 1
fi
echo "installed vqa loads brightness through --plugin-path"

# The third-party detector works on real media: a dark stretch gives its event.
ffmpeg -nostdin -hide_banner -loglevel error -y \
    -filter_complex "color=c=gray:s=160x120:r=25:d=1[g];color=c=black:s=160x120:r=25:d=1[b];\
[g][b]concat=n=2:v=1:a=0[v]" -map '[v]' -c:v libx264 -preset ultrafast -pix_fmt yuv420p \
    "$tmp/dark.mp4"
events=$(env -u VQA_PLUGIN_PATH VQA_PLUGIN_SYSTEM_PATH='' \
    "$installed_vqa" scan -q --plugin-path "$tmp/extra" -d brightness "$tmp/dark.mp4")
if ! grep -q '"kind":"x-brightness.dark"' <<<"$events"; then
    echo "install check: no x-brightness.dark event from the dark clip:" >&2
    echo "$events" >&2
    exit 1
fi
echo "the out-of-tree plugin reports the dark stretch"

# The installed Python package, from the prefix's site-packages, finds the
# installed libvqa (pkg-config) and reports what the installed vqa reported.
init_py=$(find "$prefix" -path '*-packages/vqa/__init__.py' | head -n 1)
if [ -z "$init_py" ]; then
    echo "install check: the Python package vqa was not installed under $prefix" >&2
    exit 1
fi
site_packages=$(dirname "$(dirname "$init_py")")
env -u VQA_PLUGIN_PATH -u VQA_LIBRARY VQA_PLUGIN_SYSTEM_PATH='' PYTHONPATH="$site_packages" \
    python3 - "$prefix" "$tmp/extra" "$tmp/dark.mp4" "$events" <<'PY'
import json, os, sys
import vqa
prefix, extra, clip, tool_lines = sys.argv[1:]
lib = vqa.load_library()
if not os.path.realpath(lib.path).startswith(os.path.realpath(prefix) + "/"):
    sys.exit("install check: vqa loaded %s, not the installed libvqa" % lib.path)
events = list(vqa.scan(clip, detectors="brightness", plugin_paths=[extra], log_level="error"))
expected = [json.loads(line) for line in tool_lines.splitlines()]
key = lambda e: json.dumps(e, sort_keys=True)
if not events or sorted(map(key, events)) != sorted(map(key, expected)):
    sys.exit("install check: vqa.scan gave %r, the installed vqa %r" % (events, expected))
print("the installed Python package (%s) loads %s (by %s) and scans like the tool"
      % (os.path.dirname(vqa.__file__), lib.path, lib.found_by))
PY

step "all checks passed"
