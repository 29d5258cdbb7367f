#!/usr/bin/env python3
"""The peer: FFmpeg's own analysis filters on the corpus, as contract events.

    bench/corpus/peer.py CORPUS OUT.jsonl [--kinds-out FILE] [--jobs N]

Every item goes through one ffmpeg run with the filters at their documented
defaults, set only where EVENTS.md defines the default differently:
  freezedetect              (n=-60dB, d=2: its defaults)
  blackdetect=d=1:pic_th=0.98  (EVENTS.md: 1 s; pix_th 0.10 is its default)
  silencedetect=n=-60dB:d=2 (EVENTS.md: -60 dBFS for 2 s; all channels together)
  ebur128                   (short-term loudness every 100 ms; the EVENTS.md rule
                             "outside -23 LUFS +-5 LU for 10 s" is applied here,
                             since the filter measures but never alarms)
The log lines are turned into start/end events (stream = item name,
detector = the filter). FFmpeg has no alarm for clipping (astats counts peak
samples but has no run or merge rule), blockiness (blockdetect) or blur
(blurdetect) — those print a score per frame, never a decision — nor for A/V
sync, dead channels or timestamp gaps: those kinds are "no detector".
--kinds-out writes the kinds covered, one per line, for score.py.
"""
import argparse
import concurrent.futures
import json
import os
import re
import subprocess

KINDS = ['video.freeze', 'video.black', 'audio.silence', 'audio.loudness']
NUM = r'(-?[0-9.]+(?:e-?[0-9]+)?)'
LOUD_TARGET, LOUD_TOL, LOUD_MIN_S = -23.0, 5.0, 10.0


def run_ffmpeg(path, video):
    args = ['ffmpeg', '-hide_banner', '-nostdin', '-nostats', '-i', path]
    if video:
        args += ['-vf', 'freezedetect,blackdetect=d=1:pic_th=0.98']
    args += ['-af', 'silencedetect=n=-60dB:d=2,ebur128', '-f', 'null', '-']
    res = subprocess.run(args, capture_output=True, text=True)
    return res.stderr


def pair(events, item, det, kind, starts, ends, eos_t):
    """Pair start and end times into start/end events; an open one ends at eos."""
    ends = list(ends)
    for s in starts:
        e = next((x for x in ends if x >= s), None)
        if e is not None:
            ends.remove(e)
        closed = {} if e is not None else {'details': {'closed_by': 'eos'}}
        e = eos_t if e is None else e
        base = {'v': 1, 'stream': item, 'detector': det, 'kind': kind}
        events.append(dict(base, state='start', t=s))
        events.append(dict(base, state='end', t=e, duration=e - s, **closed))


def loudness_events(events, item, log, eos_t):
    run_start, last_t = None, None
    for m in re.finditer(r'\bt: *' + NUM + r'\s.*?\bS: *' + NUM, log):
        t, s = float(m.group(1)), float(m.group(2))
        last_t = t
        out = abs(s - LOUD_TARGET) > LOUD_TOL
        if out and run_start is None:
            run_start = t
        elif not out and run_start is not None:
            if t - run_start >= LOUD_MIN_S:
                pair(events, item, 'ebur128', 'audio.loudness', [run_start], [t], t)
            run_start = None
    if run_start is not None and last_t is not None and last_t - run_start >= LOUD_MIN_S:
        pair(events, item, 'ebur128', 'audio.loudness', [run_start], [], last_t)


def item_events(corpus, it):
    log = run_ffmpeg(os.path.join(corpus, it['file']), it.get('video', True))
    eos = it.get('duration', 0)
    found = lambda pat: [float(x) for x in re.findall(pat, log)]
    ev = []
    pair(ev, it['name'], 'freezedetect', 'video.freeze',
         found(r'freeze_start: *' + NUM), found(r'freeze_end: *' + NUM), eos)
    pair(ev, it['name'], 'blackdetect', 'video.black',
         found(r'black_start: *' + NUM), found(r'black_end: *' + NUM), eos)
    pair(ev, it['name'], 'silencedetect', 'audio.silence',
         found(r'silence_start: *' + NUM), found(r'silence_end: *' + NUM), eos)
    loudness_events(ev, it['name'], log, eos)
    return ev


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('corpus')
    ap.add_argument('out')
    ap.add_argument('--kinds-out')
    ap.add_argument('--jobs', type=int, default=os.cpu_count() or 2)
    a = ap.parse_args()
    with open(os.path.join(a.corpus, 'manifest.json')) as fh:
        items = json.load(fh)['items']
    with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as pool:
        results = list(pool.map(lambda it: item_events(a.corpus, it), items))
    with open(a.out, 'w') as fh:
        for ev in results:
            for e in ev:
                fh.write(json.dumps(e) + '\n')
    if a.kinds_out:
        with open(a.kinds_out, 'w') as fh:
            fh.write('\n'.join(KINDS) + '\n')


if __name__ == '__main__':
    main()
