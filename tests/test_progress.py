#!/usr/bin/env python3
"""`vqa scan`'s progress line: drawn on a terminal, absent when standard error
is a file, forced on and off by --progress / --no-progress.

The tool runs under a pseudo-terminal (its standard error is the pty's
slave side; standard output a file, which must stay clean JSON Lines).

  test_progress.py VQA_TOOL      (VQA_PLUGIN_PATH from the environment)
"""
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import toolmedia as tm  # noqa: E402
from toolmedia import check  # noqa: E402

RUN_LIMIT_S = 240  # a liveness bound: a hung tool fails instead of blocking the suite
N_INPUTS = 4
DEFECTS_PER_CLIP = 3  # freeze, black, silence (the loudness summary is "info")

# "vqa: [k/n inputs done, ]m:ss.s[ / m:ss.s (p%)][, Sx real time], N defects"
LINE = re.compile(r"vqa: (?:\d+/\d+ inputs done, )?\d+:\d\d\.\d(?: / \d+:\d\d\.\d \(\d+%\))?"
                  r"(?:, \d+\.\dx real time)?, \d+ defects?")
SUMMARY = re.compile(r"vqa: scanned (\d+):(\d\d\.\d) of media in [\d.]+ s"
                     r"(?: \([\d.]+x real time\))?, (\d+) defects?\n")


def run_on_pty(args, stdout_path):
    """Run with standard error on a terminal. @return (status, text seen, seconds)."""
    master, slave = pty.openpty()
    start = time.monotonic()
    with open(stdout_path, "wb") as out:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=slave)
    os.close(slave)
    seen = b""
    try:
        while time.monotonic() - start < RUN_LIMIT_S:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        else:
            proc.kill()
            raise tm.Failure(f"the tool ran longer than {RUN_LIMIT_S} s")
        status = proc.wait(timeout=RUN_LIMIT_S)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    elapsed = time.monotonic() - start
    # The terminal turns "\n" into "\r\n" (onlcr); the tool wrote "\n".
    return status, seen.decode("utf-8", errors="replace").replace("\r\n", "\n"), elapsed


def run_to_file(args, stdout_path, stderr_path):
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        status = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                timeout=RUN_LIMIT_S).returncode
    with open(stderr_path, encoding="utf-8", errors="replace", newline="") as f:
        return status, f.read()


def check_events_clean(path, n_expected_inputs):
    with open(path, "rb") as f:
        check(b"\r" not in f.read(), "progress text on standard output")
    events = tm.read_events(path)
    streams = {ev["stream"] for ev in events}
    check(len(streams) == n_expected_inputs, f"events of {len(streams)} streams")


def check_terminal(vqa, clip, tmp):
    out = os.path.join(tmp, "tty.jsonl")
    status, text, elapsed = run_on_pty([vqa, "scan", "-o", out] + [clip] * N_INPUTS, out)
    check(status == 0, f"exit status {status} on a terminal: {text[-300:]!r}")
    check_events_clean(out, N_INPUTS)
    draws = text.count("\rvqa: ")
    check(draws >= 1, f"no progress line on a terminal: {text!r}")
    lines = [seg.rstrip(" ") for seg in text.split("\r") if seg.startswith("vqa: ")
             and "scanned" not in seg]
    check(lines and all(LINE.fullmatch(line) for line in lines),
          f"a progress line does not read as expected: {lines!r}")
    # At most four draws a second (plus the first one, at the start).
    check(draws <= 4 * elapsed + 2, f"{draws} draws in {elapsed:.2f} s: more than 4 a second")
    # The line is erased (spaces between two \r), then the summary stays.
    m = re.search(r"\r +\r(vqa: scanned [^\n]*\n)$", text)
    check(m, f"the progress line is not erased before the summary: {text[-200:]!r}")
    s = SUMMARY.fullmatch(m.group(1))
    check(s, f"summary {m.group(1)!r}")
    media_s = int(s.group(1)) * 60 + float(s.group(2))
    check(abs(media_s - N_INPUTS * tm.CLIP_DURATION_S) < 0.2 * N_INPUTS,
          f"summary says {media_s} s of media for {N_INPUTS} clips of {tm.CLIP_DURATION_S} s")
    check(int(s.group(3)) == N_INPUTS * DEFECTS_PER_CLIP,
          f"summary counts {s.group(3)} defects, expected {N_INPUTS * DEFECTS_PER_CLIP}")
    print(f"terminal: {draws} draws in {elapsed:.2f} s; {m.group(1).strip()}")


def check_messages_step_around(vqa, clip, tmp):
    """A message written while the line is shown starts on a line of its own."""
    out = os.path.join(tmp, "msg.jsonl")
    missing = os.path.join(tmp, "missing.mp4")
    status, text, _ = run_on_pty([vqa, "scan", "-o", out, clip, missing], out)
    check(status == 1, f"exit status {status} with a missing input")
    found = list(re.finditer(r"vqa: [^\r\n]*missing\.mp4[^\r\n]*\n", text))
    check(found, f"no message about the missing input: {text!r}")
    for m in found:
        before = text[:m.start()]
        check(before == "" or before.endswith("\n") or re.search(r"\r +\r$", before),
              f"a message lands inside the progress line: "
              f"{text[max(0, m.start() - 80):m.end()]!r}")


def check_no_terminal(vqa, clip, tmp):
    out, err = os.path.join(tmp, "file.jsonl"), os.path.join(tmp, "file.err")
    status, text = run_to_file([vqa, "scan", "-o", out, clip], out, err)
    check(status == 0 and text == "", f"stderr a file: status {status}, stderr {text!r}")
    status, text = run_to_file([vqa, "scan", "--progress", "-o", out, clip], out, err)
    check(status == 0 and "\rvqa: " in text and SUMMARY.search(text),
          f"--progress into a file shows nothing: {text!r}")
    status, text, _ = run_on_pty([vqa, "scan", "--no-progress", "-o", out, clip], out)
    check(status == 0 and text == "", f"--no-progress on a terminal still shows {text!r}")
    check_events_clean(out, 1)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    vqa = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="vqa-progress-")
    try:
        clip = os.path.join(tmp, "clip.mp4")
        tm.make_defect_clip(clip)
        check_terminal(vqa, clip, tmp)
        check_messages_step_around(vqa, clip, tmp)
        check_no_terminal(vqa, clip, tmp)
    except tm.Failure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
