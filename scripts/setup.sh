#!/usr/bin/env bash
# Install what libvqa needs to build, test and run on Debian 12 (or a close
# relative) with apt-get. Only missing packages are installed; sudo is used
# when not running as root. Safe to run again.
set -euo pipefail

packages=(
    build-essential meson ninja-build pkg-config
    libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev
    libcmocka-dev ffmpeg libebur128-dev time libcurl4-openssl-dev libmicrohttpd-dev
    python3   # the Python binding's tests and install (standard library only)
    chromium   # renders `vqa scan --report` in tests/test_report.py
    locales    # locale definitions: tests/test_locale.c builds de_DE with localedef
    # real photos and recorded sounds for the natural-content A/V sync items of
    # bench/corpus/make.py (and tests/test_avsync.c)
    mate-backgrounds sound-theme-freedesktop oxygen-sounds
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: every package is installed"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: apt-get not found; install these by hand: ${missing[*]}" >&2
    exit 1
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "setup: not root and no sudo; install these by hand: ${missing[*]}" >&2
        exit 1
    fi
    sudo=(sudo)
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}"
