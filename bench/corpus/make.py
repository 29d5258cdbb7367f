#!/usr/bin/env python3
"""Generate libvqa's labelled defect corpus.

    bench/corpus/make.py OUTDIR [--smoke] [--small] [--jobs N] [--only NAME,NAME]

Every item is a small clip with defects put in at known times, written as
OUTDIR/NAME.EXT, with its truth in OUTDIR/NAME.truth.jsonl (one JSON object
per line: {"kind": ..., "start": s, "end": s}; empty for a clean negative).
Optional fields: "value", the defect's known value (the A/V offset in ms for
av.sync), with "value_frames", the error allowed on it in frame intervals;
"ignore": true for a don't-care zone. OUTDIR/manifest.json lists the items
(file, frame rate, which media it holds, what it tests). Only FFmpeg's
command-line tool and Python's standard library are used; the same command
gives the same corpus (the noise is seeded). The natural_* items also need
photos and recorded sounds from three Debian packages (see NATURAL_PACKAGES;
scripts/setup.sh installs them).

Design rules, so that the truth is the whole truth:
- every video item carries a steady tone at -23 LUFS, so no audio detector
  has a reason to fire on it, and every audio item stays short of 10 s out of
  the loudness range unless loudness is what it tests;
- every video item moves everywhere, except where a freeze is the point;
- frame edges are set by frame number (n), not by time, so they are exact.
"""
import argparse
import array
import atexit
import concurrent.futures
import functools
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading

W, H, FPS, RATE = 320, 240, 25, 48000
# A 1 kHz sine at this amplitude on both channels measures -23 LUFS (BS.1770:
# a full-scale 1 kHz sine on one channel is -3.01 LUFS; two channels add 3 dB).
TONE_23 = 10 ** (-23 / 20)
TONE_12 = 10 ** (-12 / 20)
X264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-g', '25']
AAC = ['-c:a', 'aac', '-b:a', '128k']
PCM = ['-c:a', 'pcm_s16le']


def font_file():
    for path in ('/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf',
                 '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf'):
        if os.path.exists(path):
            return path
    return None


def ffmpeg(args):
    cmd = ['ffmpeg', '-hide_banner', '-nostdin', '-loglevel', 'error', '-y'] + args
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError('ffmpeg failed: %s\n%s' % (' '.join(cmd), res.stderr[-2000:]))
    return res


def lavfi(graph):
    return ['-f', 'lavfi', '-i', graph]


def tone(duration_s, amp=TONE_23, freq=1000):
    """Stereo sine at a steady level (the -23 LUFS programme by default)."""
    expr = '%.6f*sin(2*PI*%d*t)' % (amp, freq)
    return lavfi("aevalsrc='%s|%s':s=%d:d=%g" % (expr, expr, RATE, duration_s))


def moving(duration_s, src='testsrc2'):
    return lavfi('%s=s=%dx%d:r=%d:d=%g' % (src, W, H, FPS, duration_s))


def frames(t0_s, t1_s):
    """The timeline expression for frames [t0, t1) (by frame number)."""
    return "between(n,%d,%d)" % (round(t0_s * FPS), round(t1_s * FPS) - 1)


def av_clip(out, duration_s, vfilter=None, src='testsrc2', extra=None):
    """A moving picture with the steady tone, H.264 + AAC."""
    args = moving(duration_s, src) + tone(duration_s)
    if vfilter:
        args += ['-filter_complex', '[0:v]%s[v]' % vfilter, '-map', '[v]', '-map', '1:a']
    args += X264 + ['-crf', '20'] + AAC + (extra or []) + [out]
    ffmpeg(args)


def freeze_filter(t0_s, t1_s):
    f0, f1 = round(t0_s * FPS), round(t1_s * FPS) - 1
    return 'split[a][b];[a][b]freezeframes=first=%d:last=%d:replace=%d' % (f0, f1, f0)


def black_filter(t0_s, t1_s, luma=16):
    return "lutyuv=y=%d:u=128:v=128:enable='%s'" % (luma, frames(t0_s, t1_s))


# --- items -------------------------------------------------------------------
# Each maker writes the clip and returns its truth (a list of dicts).

def freeze_exact(out):
    av_clip(out, 10, freeze_filter(3, 6))
    return [{'kind': 'video.freeze', 'start': 3.0, 'end': 6.0}]


def freeze_noisy(out):
    # A frozen picture with mild temporal noise (strength 2: about +-2 luma
    # levels per pixel, the size of the noise an encoder leaves on a still),
    # encoded at a low bit rate with a key frame every 12 frames, so each key
    # frame re-quantises the still picture: the classic false "unfreeze".
    vf = freeze_filter(3, 8) + ",noise=alls=2:allf=t:enable='%s'" % frames(3, 8)
    args = moving(11) + tone(11)
    args += ['-filter_complex', '[0:v]%s[v]' % vf, '-map', '[v]', '-map', '1:a']
    args += ['-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-g', '12',
             '-b:v', '150k', '-maxrate', '150k', '-bufsize', '300k'] + AAC + [out]
    ffmpeg(args)
    return [{'kind': 'video.freeze', 'start': 3.0, 'end': 8.0}]


def freeze_grain(out):
    # A frozen picture with the same mild temporal grain at ordinary quality
    # (CRF 20, key frame every second): grain, not change.
    vf = freeze_filter(3, 8) + ",noise=alls=2:allf=t:enable='%s'" % frames(3, 8)
    av_clip(out, 11, vf)
    return [{'kind': 'video.freeze', 'start': 3.0, 'end': 8.0}]


def freeze_ticker(out):
    # Still picture, a news ticker crawling along the bottom: NOT a freeze.
    font = font_file()
    text = 'BREAKING - markets steady - weather fine - sport at ten - ' * 3
    vf = ('trim=end_frame=1,loop=loop=-1:size=1,setpts=N/(%d*TB),'
          "drawtext=fontfile=%s:text='%s':fontsize=20:fontcolor=white:box=1:"
          "boxcolor=black:y=h-28:x=w-mod(t*90\\,w+tw)" % (FPS, font, text))
    args = moving(1) + tone(10)
    args += ['-filter_complex', '[0:v]%s,trim=duration=10[v]' % vf,
             '-map', '[v]', '-map', '1:a'] + X264 + ['-crf', '20'] + AAC + [out]
    ffmpeg(args)
    return []


def freeze_then_black(out):
    av_clip(out, 12, freeze_filter(3, 6) + ',' + black_filter(6, 9))
    return [{'kind': 'video.freeze', 'start': 3.0, 'end': 6.0},
            {'kind': 'video.black', 'start': 6.0, 'end': 9.0}]


def black_full(out):
    av_clip(out, 9, black_filter(3, 6))
    return [{'kind': 'video.black', 'start': 3.0, 'end': 6.0}]


def black_near(out):
    av_clip(out, 9, black_filter(3, 6, luma=20))
    return [{'kind': 'video.black', 'start': 3.0, 'end': 6.0}]


def black_logo(out):
    # A white 48x30 bug in the top-right corner: 1.9 % of the picture.
    logo = "drawbox=x=%d:y=10:w=48:h=30:color=white:t=fill:enable='%s'" % (
        W - 58, frames(3, 6))
    av_clip(out, 9, black_filter(3, 6) + ',' + logo)
    return [{'kind': 'video.black', 'start': 3.0, 'end': 6.0}]


def black_dark_scene(out):
    # A moving low-key scene, luma 42..78: dark, not black. NOT black.
    av_clip(out, 8, 'lutyuv=y=42+val*36/255')
    return []


def blur_boxblur(out):
    av_clip(out, 14, "boxblur=10:enable='%s'" % frames(6, 10))
    return [{'kind': 'video.blur', 'start': 6.0, 'end': 10.0}]


def clean_moving(out):
    av_clip(out, 12)
    return []


def clean_testsrc(out):
    av_clip(out, 8, src='testsrc')
    return []


def clean_slide_clock(out):
    # A still slide whose only motion is a clock: NOT a freeze.
    font = font_file()
    vf = ("drawtext=fontfile=%s:text='Quarterly results':fontsize=26:fontcolor=white:"
          "x=(w-tw)/2:y=60,drawtext=fontfile=%s:text='%%{pts\\:hms}':fontsize=22:"
          "fontcolor=yellow:x=w-tw-12:y=h-36" % (font, font))
    args = lavfi('color=c=0x2a3a5a:s=%dx%d:r=%d:d=12' % (W, H, FPS)) + tone(12)
    args += ['-filter_complex', '[0:v]%s[v]' % vf, '-map', '[v]', '-map', '1:a']
    args += X264 + ['-crf', '20'] + AAC + [out]
    ffmpeg(args)
    return []


def stream_gap(out):
    # One second (5.0 to 6.0) cut out of both tracks; timestamps kept, so the
    # MPEG-TS stream jumps. -fps_mode passthrough keeps ffmpeg from filling it.
    args = moving(11) + tone(11)
    args += ['-filter_complex',
             "[0:v]select='not(%s)'[v];[1:a]aselect='not(between(t,5,5.99999))'[a]"
             % frames(5, 6), '-map', '[v]', '-map', '[a]', '-fps_mode', 'passthrough']
    args += X264 + ['-crf', '20'] + AAC + ['-f', 'mpegts', out]
    ffmpeg(args)
    return [{'kind': 'stream.gap', 'start': 5.0, 'end': 6.0}]


def audio_item(out, left, right, duration_s):
    graph = "aevalsrc='%s|%s':s=%d:d=%g" % (left, right, RATE, duration_s)
    ffmpeg(lavfi(graph) + PCM + [out])


def sine(amp, freq=1000):
    return '%.6f*sin(2*PI*%d*t)' % (amp, freq)


def gated(expr, t0_s, t1_s, inside='0'):
    """expr outside [t0, t1), `inside` within it."""
    return 'if(gte(t,%g)*lt(t,%g),%s,%s)' % (t0_s, t1_s, inside, expr)


def silence_muted(out):
    s = gated(sine(TONE_23), 3, 7)
    audio_item(out, s, s, 10)
    return [{'kind': 'audio.silence', 'start': 3.0, 'end': 7.0}]


def silence_noise(out):
    # White noise at -70 dBFS RMS (uniform: peak = RMS * sqrt(3)).
    peak = 10 ** (-70 / 20) * 3 ** 0.5
    s = gated(sine(TONE_23), 3, 7, '%.7f*(2*random(0)-1)' % peak)
    audio_item(out, s, s, 10)
    return [{'kind': 'audio.silence', 'start': 3.0, 'end': 7.0}]


def silence_one_channel(out):
    # The right channel dies from 3 to 7 s while the left one plays on.
    audio_item(out, sine(TONE_23), gated(sine(TONE_23), 3, 7), 10)
    return [{'kind': 'x-silence.channel', 'start': 3.0, 'end': 7.0}]


def silence_quiet(out):
    # A quiet passage at -40 dBFS RMS (3..7 s): NOT silence. Under 10 s out of
    # the loudness range, so not a loudness defect either.
    quiet = sine(10 ** (-40 / 20) * 2 ** 0.5, 440)
    s = gated(sine(TONE_23), 3, 7, quiet)
    audio_item(out, s, s, 10)
    return []


def clipping_hard(out):
    # A sine driven 6 dB past full scale from 3 to 5 s: hard clipped.
    s = gated(sine(TONE_23), 3, 5, 'clip(2*sin(2*PI*1000*t),-1,1)')
    audio_item(out, s, s, 8)
    return [{'kind': 'audio.clipping', 'start': 3.0, 'end': 5.0}]


def clipping_loud_clean(out):
    # A tone peaking at -1 dBFS: loud, never at full scale. NOT clipping.
    s = sine(10 ** (-1 / 20))
    audio_item(out, s, s, 6)
    return []


def loudness_jump(out):
    # A -23 LUFS programme that jumps to -12 LUFS from 4 to 16 s.
    s = gated(sine(TONE_23), 4, 16, sine(TONE_12))
    audio_item(out, s, s, 20)
    return [{'kind': 'audio.loudness', 'start': 4.0, 'end': 16.0}]


def sync_pattern(out, delay_ms):
    # Flash-and-beep: a white frame and a 40 ms 1 kHz beep once a second over
    # a moving picture and a low noise bed; the beep is late by delay_ms.
    d = delay_ms / 1000.0
    vf = "drawbox=color=white:t=fill:enable='eq(mod(n,%d),12)'" % FPS
    beep = ('if(gte(t,%g)*lt(mod(t-%g-0.48,1),0.04),0.5*sin(2*PI*1000*t),0)'
            '+0.01*(2*random(0)-1)' % (0.48 + d, d))
    args = moving(15) + lavfi("aevalsrc='%s|%s':s=%d:d=15" % (beep, beep, RATE))
    args += ['-filter_complex', '[0:v]%s[v]' % vf, '-map', '[v]', '-map', '1:a']
    args += X264 + ['-crf', '20'] + AAC + [out]
    ffmpeg(args)


def sync_late_200(out):
    sync_pattern(out, 200)
    return [{'kind': 'av.sync', 'start': 0.0, 'end': 15.0, 'value': 200.0, 'value_frames': 1}]


def sync_in(out):
    sync_pattern(out, 0)
    return []


# --- block corruption ----------------------------------------------------------

TS_PACKET = 188


def pes_pts(payload):
    """The PTS (s) of a PES header at the start of payload, else None."""
    if len(payload) < 14 or payload[:3] != b'\x00\x00\x01' or not payload[7] & 0x80:
        return None
    b = payload[9:14]
    pts = ((b[0] >> 1) & 7) << 30 | b[1] << 22 | (b[2] >> 1) << 15 | b[3] << 7 | b[4] >> 1
    return pts / 90000.0


def corrupt_ts(data, targets_s, seed):
    """Overwrite payload bytes of the video packets of the frames that start
    at or after each target time (relative to the first video PTS). Only
    packets that do not start a PES are touched, so every frame still has a
    valid header and a timestamp: the decoder conceals, it does not drop."""
    rng = random.Random(seed)
    data = bytearray(data)
    first_pts = None
    pending = sorted(targets_s)
    frame_packets = []      # packets (offset, payload offset) of the current frame
    hit = 0
    for off in range(0, len(data) - TS_PACKET + 1, TS_PACKET):
        pkt = data[off:off + TS_PACKET]
        pid = (pkt[1] & 0x1f) << 8 | pkt[2]
        if pkt[0] != 0x47 or pid != 0x100:
            continue
        pay = 4 + (1 + pkt[4] if pkt[3] & 0x20 else 0)
        if pkt[1] & 0x40:
            pts = pes_pts(bytes(pkt[pay:]))
            if pts is not None:
                first_pts = pts if first_pts is None else first_pts
                if frame_packets and hit:
                    # The frame's second packet (early in its slice: most of
                    # the picture is lost) and two more at random.
                    chosen = frame_packets[1:2] + rng.sample(frame_packets[2:],
                                                             min(2, len(frame_packets) - 2))
                    for p_off, p_pay in chosen:
                        start = p_off + p_pay + rng.randrange(0, max(1, TS_PACKET - p_pay - 64))
                        data[start:start + 64] = bytes(rng.randrange(256) for _ in range(64))
                    hit = 0
                frame_packets = []
                if pending and pts - first_pts >= pending[0] - 1e-6:
                    pending.pop(0)
                    hit = 1
            continue
        if pay < TS_PACKET - 64:
            frame_packets.append((off, pay))
    return bytes(data)


def psnr_per_frame(test, ref, stats):
    ffmpeg(['-i', test, '-i', ref, '-lavfi', '[0:v][1:v]psnr=stats_file=%s' % stats,
            '-f', 'null', '-'])
    return read_psnr(stats)


def read_psnr(stats):
    """Per-frame luma PSNR from the psnr filter's stats file."""
    values = []
    with open(stats) as fh:
        for line in fh:
            fields = dict(kv.split(':', 1) for kv in line.split() if ':' in kv)
            values.append(float(fields['psnr_y']) if fields['psnr_y'] != 'inf' else 99.0)
    return values


def runs_below(values, limit, min_frames):
    """[first, last] frame runs with values below limit, at least min_frames long."""
    runs, start = [], None
    for i, v in enumerate(values + [limit]):
        if v < limit and start is None:
            start = i
        elif v >= limit and start is not None:
            if i - start >= min_frames:
                runs.append((start, i - 1))
            start = None
    return runs


def damaged_h264(out, clean):
    """The clean MPEG-TS clip (written to `clean`) and its damaged copy (`out`):
    payload bytes overwritten in P-frames at 2.2, 4.6 and 7.3 s (key frames
    every second), so the damage spreads until the next key frame."""
    args = moving(10) + tone(10) + X264 + ['-crf', '20', '-bf', '0'] + AAC
    ffmpeg(args + ['-f', 'mpegts', clean])
    with open(clean, 'rb') as fh:
        data = corrupt_ts(fh.read(), [2.2, 4.6, 7.3], seed=7)
    with open(out, 'wb') as fh:
        fh.write(data)


def corruption_truth(psnr):
    """Blockiness truth from per-frame PSNR against the clean decode."""
    truth = [{'kind': 'video.blockiness', 'start': round(a / FPS, 3),
              'end': round((b + 1) / FPS, 3)} for a, b in runs_below(psnr, 30.0, 2)]
    # Damage too slight to call either way (a run under 35 dB that is not
    # already truth) is a "don't care" zone: an event there is not counted.
    for a, b in runs_below(psnr, 35.0, 1):
        start, end = round(a / FPS, 3), round((b + 1) / FPS, 3)
        if not any(t['start'] < end and start < t['end'] for t in truth):
            truth.append({'kind': 'video.blockiness', 'start': start, 'end': end,
                          'ignore': True})
    return sorted(truth, key=lambda t: t['start'])


def corrupt_h264(out):
    # Truth: the frames whose decode is worse than 30 dB PSNR (luma) against
    # the clean decode, in runs of 2 or more (EVENTS.md: visible on 2 or more
    # consecutive frames).
    clean = out + '.clean.ts'
    damaged_h264(out, clean)
    psnr = psnr_per_frame(out, clean, out + '.psnr.log')
    os.remove(out + '.psnr.log')
    os.remove(clean)
    return corruption_truth(psnr)


def corrupt_reencoded(out):
    # A probe after a transcoder: corrupt_h264's damaged stream, decoded with
    # the decoder's concealment and re-encoded cleanly (CRF 19), so the
    # corruption is baked into the picture and the decoder reports nothing.
    # Truth by the same rule, PSNR against the clean decode; frames are paired
    # by number (setpts), since the TS and the MP4 start at different times.
    clean, damaged = out + '.clean.ts', out + '.damaged.ts'
    damaged_h264(damaged, clean)
    ffmpeg(['-i', damaged] + tone(10) + ['-map', '0:v', '-map', '1:a'] + X264 +
           ['-crf', '19'] + AAC + [out])
    stats = out + '.psnr.log'
    ffmpeg(['-i', out, '-i', clean, '-lavfi',
            '[0:v]setpts=N/(%d*TB)[a];[1:v]setpts=N/(%d*TB)[b];[a][b]psnr=stats_file=%s'
            % (FPS, FPS, stats), '-f', 'null', '-'])
    psnr = read_psnr(stats)
    for path in (stats, clean, damaged):
        os.remove(path)
    return corruption_truth(psnr)


def clean_lowrate(out):
    # Heavy compression blocking, no corruption: testsrc2 at 40 kbit/s, where
    # every key frame is a coarse mosaic of flat blocks that the P-frames then
    # refine. Blocking that is the stream's norm is NOT corruption.
    args = moving(10) + tone(10)
    # One encoder thread: threaded rate control at such a rate made each run a different file.
    args += ['-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-g', '25',
             '-b:v', '40k', '-maxrate', '40k', '-bufsize', '80k', '-threads', '1'] + AAC + [out]
    ffmpeg(args)
    return []


# --- A/V sync on natural-like content --------------------------------------------
# An "edited programme" made from real material that Debian packages ship:
# photographs (mate-backgrounds) as shots with a slow zoom or pan and grain,
# recorded speech and sound effects (sound-theme-freedesktop) placed on the
# cuts, and a music bed (oxygen-sounds) with a low room tone under it. The
# editing is synthetic (this script decides the cuts and where each sound
# goes); the pictures and sounds are not. scripts/setup.sh installs the three
# packages; an item that needs a missing file stops the run and names it.

NATURAL_PHOTOS = ['/usr/share/backgrounds/mate/nature/%s.jpg' % n for n in (
    'Aqua', 'Blinds', 'Dune', 'FreshFlower', 'Garden', 'GreenMeadow', 'LadyBird',
    'RainDrops', 'Storm', 'TwoWings', 'Wood', 'YellowFlower')]
_FD = '/usr/share/sounds/freedesktop/stereo/'
# Recorded voices ("front left", "rear center", ...): a phrase starting on a cut.
NATURAL_SPEECH = [_FD + 'audio-channel-%s.oga' % n for n in (
    'front-left', 'front-right', 'front-center', 'rear-left', 'rear-right',
    'rear-center', 'side-left', 'side-right')]
# Short effects: a shutter, crumpling paper, a bell, chimes.
NATURAL_EFFECTS = [_FD + n + '.oga' for n in (
    'camera-shutter', 'trash-empty', 'bell', 'complete', 'message', 'dialog-warning',
    'phone-incoming-call', 'service-login')]
NATURAL_BED = '/usr/share/sounds/Oxygen-Sys-Log-In-Long.ogg'
NATURAL_PACKAGES = 'mate-backgrounds, sound-theme-freedesktop and oxygen-sounds'
NATURAL_S = 36          # long enough for several 10 s windows at avsync's defaults
NATURAL_PAD_S = 0.5     # the in-sync mix runs this much past both ends, so a shift has no hole
NATURAL_ONSET_DB = -26  # a sound "starts" at its first sample within this of its peak


def natural_files():
    return NATURAL_PHOTOS + NATURAL_SPEECH + NATURAL_EFFECTS + [NATURAL_BED]


def natural_check():
    """Exit with a clear message when a source file is not installed."""
    missing = [p for p in natural_files() if not os.path.isfile(p)]
    if missing:
        sys.exit('make.py: the natural_* items need files from the Debian packages %s '
                 '(scripts/setup.sh installs them); missing: %s'
                 % (NATURAL_PACKAGES, ', '.join(missing)))


@functools.lru_cache(maxsize=None)
def sound_facts(path):
    """(onset s, peak dBFS) of a recorded sound. It starts at its first sample
    within NATURAL_ONSET_DB of its peak (the files begin with a little room
    noise or silence): an editor puts that point on the cut."""
    raw = subprocess.run(['ffmpeg', '-hide_banner', '-nostdin', '-loglevel', 'error', '-i', path,
                          '-ac', '1', '-ar', str(RATE), '-f', 's16le', '-'],
                         capture_output=True, check=True).stdout
    samples = array.array('h', raw)
    if sys.byteorder != 'little':
        samples.byteswap()
    peak = max(max(samples), -min(samples), 1)
    limit = peak * 10 ** (NATURAL_ONSET_DB / 20)
    first = next(i for i, x in enumerate(samples) if abs(x) >= limit)
    return first / RATE, 20 * math.log10(peak / 32768)


def natural_edit(seed):
    """The edit decision list: shots (first frame, frame count, photo, move)
    with cuts at irregular times, and sounds (time, file, gain dB) in sync.
    About two cuts in three carry a sound (a phrase or an effect); the other
    cuts are silent, and a few sounds fall in the middle of a shot."""
    rng = random.Random(seed)
    total = NATURAL_S * FPS
    cuts = [0]
    while True:
        nxt = cuts[-1] + rng.randint(28, 80)       # 1.1 to 3.2 s per shot
        if nxt > total - 20:
            break
        cuts.append(nxt)
    photos = NATURAL_PHOTOS[:]
    rng.shuffle(photos)
    shots = []
    for i, first in enumerate(cuts):
        last = cuts[i + 1] if i + 1 < len(cuts) else total
        shots.append((first, last - first, photos[i % len(photos)], rng.choice('zpq')))
    # (time, file, peak level in dB against the loudest sound)
    sounds = []
    kinds = ['speech', 'effect', 'speech', 'effect', 'none'] * len(cuts)
    rng.shuffle(kinds)
    for i, first in enumerate(cuts[1:]):
        if kinds[i] == 'speech':
            sounds.append((first / FPS, rng.choice(NATURAL_SPEECH), 0.0))
        elif kinds[i] == 'effect':
            sounds.append((first / FPS, rng.choice(NATURAL_EFFECTS), -3.0))
    # sounds without a cut: in the middle of the longer shots
    long_shots = [s for s in shots[1:] if s[1] >= 60]
    for first, count, _, _ in rng.sample(long_shots, min(3, len(long_shots))):
        sounds.append(((first + count / 2) / FPS, rng.choice(NATURAL_EFFECTS), -6.0))
    return shots, sorted(sounds)


def natural_video(shots):
    """Inputs and filter graph for the shots: each photo cropped to 4:3, a
    slow zoom in ('z'), or a pan left ('p') or right ('q') over a 1.2x zoom,
    joined by hard cuts, grain over all of it."""
    args, chains = [], []
    for k, (_, count, photo, move) in enumerate(shots):
        args += ['-i', photo]
        if move == 'z':
            zp = "z='1+0.0025*on':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2'"
        else:
            frac = 'on/%d' % count if move == 'p' else '(1-on/%d)' % count
            zp = "z=1.2:x='(iw-iw/zoom)*%s':y='(ih-ih/zoom)/2'" % frac
        chains.append('[%d:v]scale=%d:%d:force_original_aspect_ratio=increase,crop=%d:%d,'
                      'setsar=1,zoompan=%s:d=%d:s=%dx%d:fps=%d,trim=end_frame=%d,'
                      'setpts=PTS-STARTPTS[s%d]'
                      % (k, 2 * W, 2 * H, 2 * W, 2 * H, zp, count, W, H, FPS, count, k))
    graph = ';'.join(chains) + ';' + ''.join('[s%d]' % k for k in range(len(shots)))
    graph += 'concat=n=%d:v=1:a=0,noise=alls=6:allf=t,format=yuv420p[v]' % len(shots)
    return args, graph


def natural_mix(sounds, out_wav):
    """The in-sync soundtrack, NATURAL_PAD_S longer at both ends: every sound's
    onset on its time, peaks at -6 dBFS less its level, over the looped music
    bed (its level evened out by dynaudnorm, as a mixer rides a bed under
    dialogue, about 10 LU under it) and pink room tone at -50 dBFS; then a
    slow leveller (dynaudnorm on RMS over about 10 s, as a broadcast chain's
    loudness processing rides the level; far too slow to touch an onset),
    so that no 10 s stretch is out of the loudness range, and one static
    gain to -23 LUFS integrated."""
    args = ['-i', NATURAL_BED]
    labels = []
    pad_ms = NATURAL_PAD_S * 1000
    for k, (t, path, level_db) in enumerate(sounds, 1):
        onset_s, peak_db = sound_facts(path)
        args += ['-i', path]
        at_ms = pad_ms + (t - onset_s) * 1000
        labels.append('[%d:a]aresample=%d,aformat=channel_layouts=stereo,volume=%.2fdB,'
                      'adelay=%.3f:all=1[a%d]' % (k, RATE, -6.0 + level_db - peak_db, at_ms, k))
    n = len(sounds)
    length = NATURAL_S + 2 * NATURAL_PAD_S
    args += lavfi('anoisesrc=c=pink:r=%d:a=0.003:seed=5:d=%g' % (RATE, length))
    graph = ';'.join(labels) + ';'
    # the bed: the jingle's 10 s between its lead-in and its fade-out, looped
    graph += ('[0:a]aresample=%d,aformat=channel_layouts=stereo,atrim=0.5:10.5,'
              'asetpts=PTS-STARTPTS,aloop=loop=-1:size=%d,atrim=0:%g,'
              'dynaudnorm=f=200:g=15:m=30,volume=-17dB[bed];'
              '[%d:a]aformat=channel_layouts=stereo[room];' % (RATE, 10 * RATE, length, n + 1))
    graph += ''.join('[a%d]' % k for k in range(1, n + 1)) + '[bed][room]'
    graph += ('amix=inputs=%d:normalize=0:duration=longest,atrim=0:%g,'
              'dynaudnorm=f=500:g=15:m=10:r=0.1:p=0.9[mix]' % (n + 2, length))
    raw = out_wav + '.raw.wav'
    ffmpeg(args + ['-filter_complex', graph, '-map', '[mix]'] + PCM + ['-ar', str(RATE), raw])
    # one static gain, so the envelope is untouched
    res = subprocess.run(['ffmpeg', '-hide_banner', '-nostdin', '-i', raw, '-af', 'ebur128',
                          '-f', 'null', '-'], capture_output=True, text=True)
    summary = res.stderr[res.stderr.rfind('Summary:'):]
    integrated = float(summary.split('I:')[1].split()[0])
    ffmpeg(['-i', raw, '-af', 'volume=%.2fdB' % (-23.0 - integrated)] + PCM + [out_wav])
    os.remove(raw)


_natural_lock = threading.Lock()
_natural_made = {}


def natural_sources(seed):
    """The programme's picture (H.264, no sound) and in-sync soundtrack (WAV),
    made once per run and shared by the items: they differ only in the shift
    of the soundtrack, as the same programme played out with its sound late
    or early would."""
    with _natural_lock:
        key = (seed, W, H)
        if key not in _natural_made:
            tmp = tempfile.mkdtemp(prefix='vqa-natural-')
            atexit.register(shutil.rmtree, tmp, True)
            shots, sounds = natural_edit(seed)
            video, wav = os.path.join(tmp, 'picture.mp4'), os.path.join(tmp, 'sound.wav')
            natural_mix(sounds, wav)
            vargs, vgraph = natural_video(shots)
            ffmpeg(vargs + ['-filter_complex', vgraph, '-map', '[v]'] + X264 +
                   ['-crf', '20', '-an', video])
            _natural_made[key] = (video, wav)
        return _natural_made[key]


def natural_clip(out, delay_ms, seed=11):
    """The edited programme with its whole soundtrack late by delay_ms
    (negative: early). Truth: the offset over the whole clip, or none."""
    natural_check()
    video, wav = natural_sources(seed)
    start = NATURAL_PAD_S - delay_ms / 1000.0
    ffmpeg(['-i', video, '-i', wav, '-filter_complex',
            '[1:a]atrim=start=%g:duration=%g,asetpts=PTS-STARTPTS[a]' % (start, NATURAL_S),
            '-map', '0:v', '-map', '[a]', '-c:v', 'copy'] + AAC + [out])
    if delay_ms == 0:
        return []
    # The sync pattern's offset is exact to a frame; these edits to two.
    return [{'kind': 'av.sync', 'start': 0.0, 'end': float(NATURAL_S),
             'value': float(delay_ms), 'value_frames': 2}]


def natural_in(out):
    return natural_clip(out, 0)


def natural_late_200(out):
    return natural_clip(out, 200)


def natural_early_100(out):
    return natural_clip(out, -100)


# --- the corpus ----------------------------------------------------------------
# name: (maker, extension, what it tests); a .wav item has no video
ITEMS = {
    'freeze_exact': (freeze_exact, 'mp4', 'exact repeat of one frame, 3-6 s'),
    'freeze_noisy': (freeze_noisy, 'mp4',
                     'frozen 3-8 s with mild temporal noise, 150 kbit/s, key frame every 12'),
    'freeze_grain': (freeze_grain, 'mp4', 'frozen 3-8 s with mild temporal grain, CRF 20'),
    'freeze_ticker': (freeze_ticker, 'mp4', 'still picture with a crawling ticker: no freeze'),
    'freeze_then_black': (freeze_then_black, 'mp4', 'freeze 3-6 s then black 6-9 s'),
    'black_full': (black_full, 'mp4', 'luma 16 (limited range), 3-6 s'),
    'black_near': (black_near, 'mp4', 'luma 20 (limited range), 3-6 s'),
    'black_logo': (black_logo, 'mp4', 'black with a white corner bug (1.9 %), 3-6 s'),
    'black_dark_scene': (black_dark_scene, 'mp4', 'moving scene at luma 42-78: not black'),
    'corrupt_h264': (corrupt_h264, 'ts',
                     'payload bytes overwritten in P-frames at 2.2, 4.6, 7.3 s'),
    'corrupt_reencoded': (corrupt_reencoded, 'mp4',
                          'corrupt_h264 decoded with concealment, re-encoded at CRF 19'),
    'clean_lowrate': (clean_lowrate, 'mp4', 'testsrc2 at 40 kbit/s: heavy blocking, no defect'),
    'blur_boxblur': (blur_boxblur, 'mp4', 'boxblur=10 from 6 to 10 s'),
    'gap_ts': (stream_gap, 'ts', 'MPEG-TS, 1 s of both tracks missing at 5 s'),
    'silence_muted': (silence_muted, 'wav', 'digital zero, 3-7 s'),
    'silence_noise': (silence_noise, 'wav', 'white noise at -70 dBFS RMS, 3-7 s'),
    'silence_one_channel': (silence_one_channel, 'wav', 'right channel dead 3-7 s'),
    'silence_quiet': (silence_quiet, 'wav', 'passage at -40 dBFS RMS: not silence'),
    'clipping_hard': (clipping_hard, 'wav', 'sine 6 dB past full scale, 3-5 s'),
    'clipping_loud_clean': (clipping_loud_clean, 'wav', 'tone at -1 dBFS peak: not clipping'),
    'loudness_jump': (loudness_jump, 'wav', '-23 LUFS, -12 LUFS from 4 to 16 s'),
    'sync_late_200': (sync_late_200, 'mp4', 'flash-and-beep, audio 200 ms late'),
    'sync_in': (sync_in, 'mp4', 'flash-and-beep in sync'),
    'natural_in': (natural_in, 'mp4', 'edited photos, speech and effects on cuts, in sync'),
    'natural_late_200': (natural_late_200, 'mp4', 'the same edit, audio 200 ms late'),
    'natural_early_100': (natural_early_100, 'mp4', 'the same edit, audio 100 ms early'),
    'clean_moving': (clean_moving, 'mp4', 'testsrc2 and a tone: no defect'),
    'clean_testsrc': (clean_testsrc, 'mp4', 'testsrc and a tone: no defect'),
    'clean_slide_clock': (clean_slide_clock, 'mp4', 'still slide with a running clock: no defect'),
}
NEEDS_FONT = {'freeze_ticker', 'clean_slide_clock'}
SMOKE = ['freeze_exact', 'black_logo', 'silence_muted', 'clean_moving']


def make_item(outdir, name):
    maker, ext, about = ITEMS[name]
    path = os.path.join(outdir, '%s.%s' % (name, ext))
    truth = maker(path)
    with open(os.path.join(outdir, name + '.truth.jsonl'), 'w') as fh:
        for t in truth:
            fh.write(json.dumps(t) + '\n')
    probe = subprocess.run(['ffprobe', '-v', 'error', '-show_entries', 'format=duration',
                            '-of', 'csv=p=0', path], capture_output=True, text=True)
    return {'name': name, 'file': os.path.basename(path), 'fps': FPS,
            'duration': round(float(probe.stdout.strip() or 0), 3),
            'video': ext != 'wav', 'audio': True, 'about': about, 'truth': truth}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('outdir')
    ap.add_argument('--smoke', action='store_true',
                    help='only the few easy items of the smoke test')
    ap.add_argument('--only', help='comma-separated item names')
    ap.add_argument('--jobs', type=int, default=os.cpu_count() or 2)
    ap.add_argument('--small', action='store_true',
                    help='160x120 pictures and the fastest x264 preset, for quick tests')
    a = ap.parse_args()
    if a.small:
        global W, H, X264
        W, H = 160, 120
        X264 = [x if x != 'veryfast' else 'ultrafast' for x in X264]
    names = SMOKE if a.smoke else (a.only.split(',') if a.only else list(ITEMS))
    unknown = [n for n in names if n not in ITEMS]
    if unknown:
        sys.exit('make.py: unknown item(s): ' + ', '.join(unknown))
    if any(n.startswith('natural_') for n in names):
        natural_check()
    if font_file() is None:
        print('make.py: no DejaVu font: leaving out ' + ', '.join(sorted(NEEDS_FONT)),
              file=sys.stderr)
        names = [n for n in names if n not in NEEDS_FONT]
    os.makedirs(a.outdir, exist_ok=True)
    with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as pool:
        items = list(pool.map(lambda n: make_item(a.outdir, n), names))
    manifest = os.path.join(a.outdir, 'manifest.json')
    if a.only and os.path.exists(manifest):     # remake some items, keep the others
        with open(manifest) as fh:
            kept = [it for it in json.load(fh)['items'] if it['name'] not in names]
        items = sorted(kept + items, key=lambda it: list(ITEMS).index(it['name']))
    with open(manifest, 'w') as fh:
        json.dump({'items': items}, fh, indent=1)
    print('make.py: %d items in %s' % (len(items), a.outdir), file=sys.stderr)


if __name__ == '__main__':
    main()
