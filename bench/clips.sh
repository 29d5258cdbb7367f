#!/usr/bin/env bash
# Make one benchmark clip: H.264 High 30 fps + AAC-LC 48 kHz stereo, made
# from FFmpeg's lavfi sources so anyone can regenerate it bit for bit.
#
#   bench/clips.sh OUT.mp4 WIDTH HEIGHT DURATION_S
#
# The content is chosen so that every detector has work and something to
# find, and so that the encoder sees both hard (noise, fractal) and easy
# (frozen, black) pictures, as a real channel does. Proportions of the clip
# (the 30 s layout in brackets):
#   video  1/3 test pattern + temporal noise [0-10 s] | 2/15 frozen frame [10-14]
#          1/15 black [14-16] | 2/15 blurred pattern [16-20]
#          1/6 fractal zoom [20-25] | 1/6 cellular automaton, 4x upscaled [25-30]
#   audio  1/3 tone + pink noise | 2/15 pink noise | 2/15 digital silence
#          | 2/15 hard-clipped 1 kHz tone | rest tone + pink noise
# Encoding follows a streaming ladder: libx264 -preset medium, closed 2 s GOP,
# capped VBR at a bitrate that scales with the pixel count (1.2 Mb/s at 480p).
set -euo pipefail

out=${1:?usage: clips.sh OUT.mp4 WIDTH HEIGHT DURATION_S}
w=${2:?width}
h=${3:?height}
dur_s=${4:?duration in seconds}
fps=30

frames=$((dur_s * fps))
# Segment lengths in frames; the last segment takes what rounding left.
f_live=$((frames / 3))
f_freeze=$((frames * 2 / 15))
f_black=$((frames / 15))
f_blur=$((frames * 2 / 15))
f_fractal=$((frames / 6))
f_cells=$((frames - f_live - f_freeze - f_black - f_blur - f_fractal))

# Audio in samples at 48 kHz, same idea.
rate=48000
samples=$((dur_s * rate))
a_mix=$((samples / 3))
a_pink=$((samples * 2 / 15))
a_silent=$((samples * 2 / 15))
a_clip=$((samples * 2 / 15))
a_rest=$((samples - a_mix - a_pink - a_silent - a_clip))

# Bitrate in kb/s: ~2.9 bits per 1000 pixels per frame, a typical ladder rung.
kbps=$((w * h * 29 / 10000))
[ "$kbps" -lt 300 ] && kbps=300

vfmt="format=yuv420p,setsar=1"
afmt="aformat=sample_fmts=fltp:channel_layouts=stereo"
graph="
testsrc2=s=${w}x${h}:r=${fps},trim=end_frame=${f_live},noise=alls=10:allf=t,${vfmt}[v0];
testsrc2=s=${w}x${h}:r=${fps},trim=end_frame=1,loop=loop=$((f_freeze - 1)):size=1:start=0,${vfmt}[v1];
color=c=black:s=${w}x${h}:r=${fps},trim=end_frame=${f_black},${vfmt}[v2];
testsrc2=s=${w}x${h}:r=${fps},trim=end_frame=${f_blur},gblur=sigma=8,${vfmt}[v3];
mandelbrot=s=${w}x${h}:r=${fps}:maxiter=256,trim=end_frame=${f_fractal},${vfmt}[v4];
cellauto=s=$((w / 4))x$((h / 4)):r=${fps}:rule=30:seed=7,trim=end_frame=${f_cells},
 scale=${w}:${h}:flags=neighbor,${vfmt}[v5];
[v0][v1][v2][v3][v4][v5]concat=n=6:v=1:a=0,setpts=N/${fps}/TB[v];
sine=f=523:r=${rate},atrim=end_sample=${a_mix},volume=0.3,${afmt}[s0];
anoisesrc=c=pink:r=${rate}:a=0.06:seed=3,atrim=end_sample=${a_mix},${afmt}[n0];
[s0][n0]amix=inputs=2:normalize=0[a0];
anoisesrc=c=pink:r=${rate}:a=0.25:seed=4,atrim=end_sample=${a_pink},${afmt}[a1];
anullsrc=r=${rate}:cl=stereo,atrim=end_sample=${a_silent},${afmt}[a2];
aevalsrc=clip(1.6*sin(2*PI*1000*t)\,-0.98\,0.98):s=${rate},atrim=end_sample=${a_clip},${afmt}[a3];
sine=f=330:r=${rate},atrim=end_sample=${a_rest},volume=0.3,${afmt}[s4];
anoisesrc=c=pink:r=${rate}:a=0.06:seed=5,atrim=end_sample=${a_rest},${afmt}[n4];
[s4][n4]amix=inputs=2:normalize=0[a4];
[a0][a1][a2][a3][a4]concat=n=5:v=0:a=1[a]"

tmp="${out}.part.mp4"
ffmpeg -hide_banner -loglevel error -nostdin -y -filter_complex "$graph" \
    -map '[v]' -map '[a]' -t "$dur_s" \
    -c:v libx264 -preset medium -profile:v high -pix_fmt yuv420p \
    -b:v "${kbps}k" -maxrate "$((kbps * 11 / 10))k" -bufsize "$((kbps * 2))k" \
    -g $((2 * fps)) -keyint_min $((2 * fps)) -sc_threshold 0 -r "$fps" \
    -c:a aac -b:a 128k -ar "$rate" -ac 2 \
    -movflags +faststart "$tmp"
mv "$tmp" "$out"
