#!/usr/bin/env python3
"""Scan media files for defects with libvqa's Python binding and print each
event as one JSON line, as `vqa scan` does.

    python3 scan.py [-d SPEC] [--threads N] FILE...
    python3 scan.py -d 'freeze:min_duration=1.5,black,silence' clip.mp4

The binding finds libvqa through VQA_LIBRARY, pkg-config or the dynamic
loader; from a build tree:
    VQA_LIBRARY=build/lib/libvqa.so.1 VQA_PLUGIN_PATH=build/plugins \\
    PYTHONPATH=bindings/python python3 examples/python/scan.py clip.mp4
Exit status: 0 when every file was read to its end, 1 otherwise, 2 for bad options.
"""
import argparse
import json
import sys

import vqa


def main():
    parser = argparse.ArgumentParser(description="Print the defects libvqa finds.")
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("-d", "--detectors", help="e.g. 'freeze:min_duration=1.5,black'")
    parser.add_argument("--threads", type=int, default=0, help="0: one per core")
    args = parser.parse_args()

    status = 0
    with vqa.Context(threads=args.threads) as ctx:
        try:
            # One stream per file, all analysed at once on the context's workers.
            streams = [ctx.add_stream(url=path, id=str(i), detectors=args.detectors)
                       for i, path in enumerate(args.files)]
        except vqa.VqaError as e:
            print("scan.py: %s" % e, file=sys.stderr)
            return 2
        for event in ctx.events():   # dicts, as EVENTS.md defines them
            print(json.dumps(event, separators=(",", ":")), flush=True)
        for stream in streams:
            try:
                stream.wait()
            except vqa.VqaError as e:
                print("scan.py: %s" % e, file=sys.stderr)
                status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
