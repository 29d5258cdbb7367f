#!/usr/bin/env python3
"""Score defect events against the corpus truth.

    bench/corpus/score.py CORPUS --system NAME=EVENTS[@KINDS] [--system ...]
                          [--out FILE] [--details] [--require-f1 X]

CORPUS is a directory made by make.py (manifest.json and NAME.truth.jsonl).
EVENTS is a JSON Lines file of events in the libvqa contract (EVENTS.md),
with `stream` = the item's name (`vqa scan NAME=FILE ...` writes that).
@KINDS is what the system can detect: a comma-separated list, or the path of
a file with one kind per line; a kind it cannot detect is shown as "no
detector" instead of being scored as all misses. Without @KINDS: every kind.

Matching rules (the same for every system):
- start/end events are paired per (stream, detector, kind) into intervals
  [t, t + duration); an instant is [t, t + value] for stream.gap (value =
  seconds missing) and [t, t] otherwise;
- events of one kind on one item that overlap each other (two tracks, two
  detectors reporting the same thing) are merged into one first;
- an event matches a truth interval of its kind when the two overlap and the
  start error |event start - truth start| is within the kind's tolerance;
  each truth interval and each event is matched at most once (closest start
  first). Truth marked "ignore" is a don't-care zone: events overlapping it
  are neither true nor false positives;
- a truth with a "value" (the A/V offset in ms for av.sync) is compared with
  the matched event's value: the error in ms and in frame intervals is listed
  per item, against the truth's "value_frames" target when it has one;
- TP = matched truths, FN = unmatched truths, FP = unmatched events.
  Precision = TP / (TP + FP), recall = TP / (TP + FN), F1 their harmonic mean.

Exit status: 0, or 1 with --require-f1 when the first system's F1 is below X
on a kind that has truth or events.
"""
import argparse
import json
import math
import os
import sys

# kind: (tolerance on the start, seconds or ('frames', n)); the order is the table's.
KINDS = {
    'video.freeze': ('frames', 2),
    'video.black': ('frames', 2),
    'video.blockiness': ('frames', 2),
    'video.blur': ('frames', 2),
    'audio.silence': 0.1,
    'x-silence.channel': 0.1,
    'audio.clipping': 0.1,
    # one short-term window (3 s): an honest meter cannot see a level change
    # before the window holds enough of it
    'audio.loudness': 3.0,
    # the offset is there from the first frame; a content detector needs
    # events to measure it and EVENTS.md holds it 5 s before reporting
    'av.sync': 6.0,
    'stream.gap': ('frames', 2),
}


def tolerance_s(kind, fps):
    tol = KINDS[kind]
    return tol[1] / fps if isinstance(tol, tuple) else tol


def load_jsonl(path):
    out = []
    with open(path) as fh:
        for n, line in enumerate(fh, 1):
            line = line.strip()
            if line:
                try:
                    out.append(json.loads(line))
                except ValueError as e:
                    sys.exit('score.py: %s:%d: %s' % (path, n, e))
    return out


def intervals(events, item_end):
    """{(item, kind): [[start, end, value], ...]} from contract events."""
    open_ev, out = {}, {}
    for e in events:
        key = (e.get('stream'), e.get('detector'), e.get('kind'))
        state, t = e.get('state'), float(e.get('t', 0))
        if state == 'start':
            open_ev[key] = (t, e.get('value'))
            continue
        if state == 'end' and key in open_ev:
            start, value = open_ev.pop(key)
            end = start + float(e['duration']) if 'duration' in e else t
        elif state == 'instant':
            start, value = t, e.get('value')
            end = t + float(value or 0) if e.get('kind') == 'stream.gap' else t
        else:
            continue
        out.setdefault((key[0], key[2]), []).append([start, end, value])
    for key, (start, value) in open_ev.items():   # a start never ended: to the end
        out.setdefault((key[0], key[2]), []).append([start, item_end.get(key[0], start), value])
    return out


def merge(ivs):
    merged = []
    for iv in sorted(ivs):
        if merged and iv[0] <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], iv[1])
        else:
            merged.append(list(iv))
    return merged


def overlaps(a0, a1, b0, b1):
    # a zero-length interval (an instant) overlaps what it falls in
    return a0 <= b1 and b0 <= a1 if a0 == a1 or b0 == b1 else a0 < b1 and b0 < a1


class Tally:
    def __init__(self):
        self.tp = self.fp = self.fn = 0
        self.start_err = []
        self.value_err = []
        self.values = []            # per matched truth with a known value
        self.notes = []

    def prf(self):
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else None
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else None
        if p is None and r is None:
            return None, None, None
        f = 2 * p * r / (p + r) if p and r else 0.0
        return p, r, f


def score_item(tally, item, kind, truth, events, fps):
    tol = tolerance_s(kind, fps)
    real = [t for t in truth if not t.get('ignore')]
    dont_care = [t for t in truth if t.get('ignore')]
    events = [e for e in merge(events)
              if not any(overlaps(e[0], e[1], d['start'], d['end']) for d in dont_care)]
    pairs = []
    for ti, t in enumerate(real):
        for ei, e in enumerate(events):
            err = e[0] - t['start']
            if overlaps(e[0], e[1], t['start'], t['end']) and abs(err) <= tol + 1e-9:
                pairs.append((abs(err), ti, ei, err))
    used_t, used_e = set(), set()
    for _, ti, ei, err in sorted(pairs):
        if ti in used_t or ei in used_e:
            continue
        used_t.add(ti)
        used_e.add(ei)
        tally.tp += 1
        tally.start_err.append(err)
        want, got = real[ti].get('value'), events[ei][2]
        if want is not None and got is not None:
            tally.value_err.append(float(got) - float(want))
            tally.values.append({'item': item, 'want': float(want), 'got': float(got),
                                 'fps': fps, 'target': real[ti].get('value_frames')})
    for ti, t in enumerate(real):
        if ti not in used_t:
            tally.fn += 1
            tally.notes.append('%s: missed %.2f-%.2f' % (item, t['start'], t['end']))
    for ei, e in enumerate(events):
        if ei not in used_e:
            tally.fp += 1
            tally.notes.append('%s: false %.2f-%.2f' % (item, e[0], e[1]))


def score(manifest, corpus, events_path):
    items = manifest['items']
    end_of = {it['name']: it.get('duration', math.inf) for it in items}
    ivs = intervals(load_jsonl(events_path), end_of)
    tallies = {k: Tally() for k in KINDS}
    for it in items:
        truth = load_jsonl(os.path.join(corpus, it['name'] + '.truth.jsonl'))
        for kind in KINDS:
            score_item(tallies[kind], it['name'], kind,
                       [t for t in truth if t['kind'] == kind],
                       ivs.get((it['name'], kind), []), it.get('fps', 25))
    return tallies


def fmt(x, digits=2):
    return '—' if x is None else '%.*f' % (digits, x)


def cell(tally, covered):
    if not covered:
        return 'no detector'
    p, r, f = tally.prf()
    return '%s / %s / %s' % (fmt(p), fmt(r), fmt(f))


def err_cell(tally, covered):
    if not covered or not tally.start_err:
        return '—'
    errs = [abs(e) * 1000 for e in tally.start_err]
    return '%.0f / %.0f' % (sum(errs) / len(errs), max(errs))


def parse_system(spec):
    name, _, rest = spec.partition('=')
    path, _, kinds = rest.partition('@')
    if not name or not path:
        sys.exit('score.py: --system wants NAME=EVENTS[@KINDS], got %r' % spec)
    if kinds and os.path.exists(kinds):
        with open(kinds) as fh:
            kinds = ','.join(line.strip() for line in fh)
    covered = set(k for k in kinds.split(',') if k) if kinds else set(KINDS)
    return name, path, covered


def table(systems, truth_counts):
    head = '| kind | truth |' + ''.join(' %s P / R / F1 | %s TP/FP/FN | %s start err ms mean/max |'
                                      % (n, n, n) for n, _, _, _ in systems)
    lines = [head, '|' + '---|' * (2 + 3 * len(systems))]
    for kind in KINDS:
        row = '| %s | %d |' % (kind, truth_counts[kind])
        for _, _, covered, tallies in systems:
            t, cov = tallies[kind], kind in covered
            counts = '%d/%d/%d' % (t.tp, t.fp, t.fn) if cov else '—'
            row += ' %s | %s | %s |' % (cell(t, cov), counts, err_cell(t, cov))
        lines.append(row)
    for name, _, covered, tallies in systems:
        t = tallies['av.sync']
        if 'av.sync' in covered and t.value_err:
            errs = [abs(e) for e in t.value_err]
            lines.append('\n%s av.sync offset error: mean %.0f ms, max %.0f ms (%d measured)'
                         % (name, sum(errs) / len(errs), max(errs), len(errs)))
            lines.append('')
            lines.append(value_table(t.values))
    return '\n'.join(lines)


def value_table(values):
    """The measured value (the A/V offset) against the truth, per item: the
    error in ms and in frame intervals, against the truth's target (value_frames)."""
    out = ['| item | truth ms | measured ms | error ms | error frames | target frames | met |',
           '|---|---|---|---|---|---|---|']
    for v in sorted(values, key=lambda v: v['item']):
        err = v['got'] - v['want']
        frames = abs(err) * v['fps'] / 1000.0
        target = v['target']
        met = '—' if target is None else ('yes' if frames <= target + 1e-9 else 'NO')
        out.append('| %s | %+.0f | %+.1f | %+.1f | %.2f | %s | %s |'
                   % (v['item'], v['want'], v['got'], err, frames,
                      '—' if target is None else '<= %g' % target, met))
    return '\n'.join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('corpus')
    ap.add_argument('--system', action='append', required=True)
    ap.add_argument('--out')
    ap.add_argument('--details', action='store_true', help='list every miss and false alarm')
    ap.add_argument('--require-f1', type=float)
    a = ap.parse_args()
    with open(os.path.join(a.corpus, 'manifest.json')) as fh:
        manifest = json.load(fh)
    truth_counts = {k: 0 for k in KINDS}
    for it in manifest['items']:
        for t in load_jsonl(os.path.join(a.corpus, it['name'] + '.truth.jsonl')):
            if t['kind'] in truth_counts and not t.get('ignore'):
                truth_counts[t['kind']] += 1
    systems = []
    for spec in a.system:
        name, path, covered = parse_system(spec)
        systems.append((name, path, covered, score(manifest, a.corpus, path)))
    text = table(systems, truth_counts)
    if a.details:
        for name, _, covered, tallies in systems:
            notes = ['- %s %s' % (k, n) for k in KINDS if k in covered for n in tallies[k].notes]
            text += '\n\n%s misses and false alarms:\n%s' % (name, '\n'.join(notes) or '- none')
    print(text)
    if a.out:
        with open(a.out, 'w') as fh:
            fh.write(text + '\n')
    if a.require_f1 is not None:
        name, _, covered, tallies = systems[0]
        bad = [k for k in KINDS if k in covered and tallies[k].prf()[2] is not None
               and tallies[k].prf()[2] < a.require_f1]
        if bad:
            print('score.py: %s F1 below %g on: %s' % (name, a.require_f1, ', '.join(bad)),
                  file=sys.stderr)
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
