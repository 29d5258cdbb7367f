# shellcheck shell=bash disable=SC2154
# Functions for bench/run.sh (sourced, not run). They read the settings
# run.sh sets: build, vqa_bin, work, runs, many_runs, clip_s, max_streams,
# res_list, clips_dir, resolutions, and append to the array `targets`.

need() {
    local tool
    for tool in "$@"; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            echo "run.sh: '$tool' is missing (scripts/setup.sh installs it)" >&2
            exit 1
        fi
    done
}

ensure_build() {  # DIR: configure and build it if the vqa tool is missing
    local dir=$1
    if [ ! -x "$dir/tools/vqa" ]; then
        echo "run.sh: building $dir (release)" >&2
        if [ ! -f "$dir/build.ninja" ]; then
            meson setup "$dir" "$root" --buildtype=release -Dtests=false -Dexamples=false >&2
        fi
    fi
    # Always bring it up to date: measuring stale binaries is a classic mistake.
    local log="$dir/bench-build.log"
    if ! ninja -C "$dir" >"$log" 2>&1; then
        if [ ! -x "$dir/tools/vqa" ]; then
            tail -n 20 "$log" >&2
            echo "run.sh: the build failed (log: $log)" >&2
            exit 1
        fi
        echo "run.sh: WARNING: the build failed (log: $log); measuring the binaries" \
            "already in $dir, which may be stale" >&2
    fi
}

machine_description() {
    local cpu mem_gib
    cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
    mem_gib=$(awk '/^MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
    echo "| machine | |"
    echo "|---|---|"
    echo "| CPU | ${cpu:-unknown}, $(nproc) logical cores |"
    echo "| memory | ${mem_gib} GiB |"
    echo "| OS | $(uname -sr), $( (. /etc/os-release && echo "$PRETTY_NAME") 2>/dev/null) |"
    echo "| FFmpeg | $(ffmpeg -hide_banner -version | awk 'NR == 1 { print $3 }') |"
    echo "| compiler | $(${CC:-cc} --version 2>/dev/null | head -n 1) |"
    echo "| libvqa | $("$vqa_bin" --version), $(buildtype_of "$build") build, $(source_state) |"
}

source_state() {  # the commit measured, and whether the tree had changes on top
    local rev
    rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null) || { echo "not a git tree"; return; }
    if [ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
        echo "commit $rev + uncommitted changes"
    else
        echo "commit $rev"
    fi
}

buildtype_of() {
    meson introspect --buildoptions "$1" 2>/dev/null |
        grep -o '{[^{}]*"name": *"buildtype"[^{}]*}' |
        sed -n 's/.*"value": *"\([a-z]*\)".*/\1/p' | grep . || echo unknown
}

detector_names() {
    "$vqa_bin" plugins 2>/dev/null | awk '/^  detector / { sub(":", "", $2); printf "%s%s", sep, $2; sep = ", " }'
}

resolution_size() {  # 480p or WxH -> "W H"
    case "$1" in
        240p) echo "426 240" ;;
        360p) echo "640 360" ;;
        480p) echo "854 480" ;;
        720p) echo "1280 720" ;;
        1080p) echo "1920 1080" ;;
        2160p) echo "3840 2160" ;;
        *x*) echo "${1%x*} ${1#*x}" ;;
        *) echo "run.sh: unknown resolution '$1'" >&2; exit 2 ;;
    esac
}

# measure FILE CMD...: run CMD once, append "wall user sys maxrss_kib" to FILE.
measure() {
    local file=$1; shift
    local t="$work/time.$$"
    if ! /usr/bin/time -f '%e %U %S %M' -o "$t" "$@" >/dev/null 2>>"$work/stderr.log"; then
        echo "run.sh: failed: $*" >&2
        tail -n 5 "$work/stderr.log" >&2
        exit 1
    fi
    tail -n 1 "$t" >>"$file"
}

# sum_lines FILE_A FILE_B OUT: two processes in sequence as one pipeline:
# wall and CPU add up, peak RSS is the larger one.
sum_lines() {
    paste -d ' ' <(tail -n 1 "$1") <(tail -n 1 "$2") |
        awk '{ print $1 + $5, $2 + $6, $3 + $7, ($4 > $8 ? $4 : $8) }' >>"$3"
}

# stats FILE -> "runs cpu_median wall_median rss_mib_median"
stats() {
    awk '{ cpu[NR] = $2 + $3; wall[NR] = $1; rss[NR] = $4 / 1024 }
         function median(a, n,    i, j, t) {
             for (i = 2; i <= n; i++)
                 for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
             return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
         }
         END { printf "%d %.3f %.3f %.1f\n", NR, median(cpu, NR), median(wall, NR), median(rss, NR) }' "$1"
}

# paired_ratio FILE_A FILE_B: median over runs of cpu_a(i) / cpu_b(i). Runs of A
# and B alternate, so each pair shares the machine's state of that moment;
# this is steadier than the ratio of the two medians on a busy machine.
paired_ratio() {
    paste -d ' ' "$1" "$2" | awk '{ r[NR] = ($2 + $3) / ($6 + $7) }
        END { for (i = 2; i <= NR; i++)
                  for (j = i; j > 1 && r[j - 1] > r[j]; j--) { t = r[j]; r[j] = r[j - 1]; r[j - 1] = t }
              printf "%.2f", NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

# check LABEL VALUE OP LIMIT: one PASS/FAIL line into `targets`.
check() {
    local verdict
    verdict=$(awk -v v="$2" -v l="$4" -v op="$3" \
        'BEGIN { ok = (op == "<=") ? v <= l : v >= l; print ok ? "PASS" : "FAIL" }')
    targets+=("- $verdict $1: $2 (target $3 $4)")
}

# row LABEL PIPELINE STATS_FILE: one table line; sets ROW_CPU.
row() {
    local res=$1 name=$2 file=$3 n cpu wall rss
    read -r n cpu wall rss <<<"$(stats "$file")"
    ROW_CPU=$cpu
    local vs_dec vs_vqa
    vs_dec=$(ratio "$cpu" "$DEC_CPU")
    vs_vqa=$(ratio "$cpu" "$VQA_CPU")
    say "| $res | $name | $n | $cpu | $wall | $vs_dec | $vs_vqa | $rss |"
}

# handoff RES CLIP EXT OUTFILE [ENCODER OPTIONS...]: the "distributed" design.
# Process 1 decodes the video and writes every frame as an image; process 2
# reads the sequence back and runs the cheap analysis (freeze, black). Both
# processes are measured; the pipeline's figure is their sum.
handoff() {
    local clip=$1 ext=$2 out=$3; shift 3
    local frames="$work/frames"
    rm -rf "$frames"; mkdir -p "$frames"
    measure "$work/p1" ffmpeg -hide_banner -nostdin -nostats -threads 1 -i "$clip" -an \
        "$@" -f image2 "$frames/f%06d.$ext"
    HANDOFF_BYTES=$(du -sb "$frames" | awk '{ print $1 }')
    measure "$work/p2" ffmpeg -hide_banner -nostdin -nostats -threads 1 -framerate 30 \
        -f image2 -i "$frames/f%06d.$ext" -filter_threads 1 \
        -vf freezedetect,blackdetect -f null -
    sum_lines "$work/p1" "$work/p2" "$out"
    rm -rf "$frames"
}

# compare_one RES CLIP: every contender on one clip, one table block.
compare_one() {
    local res=$1 clip=$2 d="$work/$1"
    mkdir -p "$d"
    local events="$d/events.jsonl"
    local vqa_cmd=("$vqa_bin" scan --threads 1 -q -o "$events" "$clip")
    local ff=(ffmpeg -hide_banner -nostdin -nostats -threads 1)
    local dec_cmd=("${ff[@]}" -i "$clip" -f null -)
    echo "run.sh: $res: libvqa and decode-only, $runs runs each" >&2
    # Warm-up (page cache, loader): not counted.
    measure "$d/warm" "${dec_cmd[@]}"
    measure "$d/warm" "${vqa_cmd[@]}"
    local i
    for i in $(seq "$runs"); do
        measure "$d/vqa" "${vqa_cmd[@]}"
        measure "$d/dec" "${dec_cmd[@]}"
        measure "$d/key" "${ff[@]}" -skip_frame nokey -i "$clip" -f null -
    done
    echo "run.sh: $res: FFmpeg detection chain" >&2
    measure "$d/chain" "${ff[@]}" -i "$clip" -filter_threads 1 \
        -vf freezedetect,blackdetect,blockdetect,blurdetect \
        -af silencedetect,ebur128=framelog=verbose,astats -f null -
    echo "run.sh: $res: JPEG hand-off" >&2
    handoff "$clip" jpg "$d/jpeg" -q:v 2
    local jpeg_bytes=$HANDOFF_BYTES
    echo "run.sh: $res: PNG hand-off (slow)" >&2
    handoff "$clip" png "$d/png"
    local png_bytes=$HANDOFF_BYTES

    read -r _ DEC_CPU _ _ <<<"$(stats "$d/dec")"
    read -r _ VQA_CPU _ _ <<<"$(stats "$d/vqa")"
    row "$res" "**libvqa** \`vqa scan --threads 1\` ($(wc -l <"$events") events)" "$d/vqa"
    row "$res" "decode only \`ffmpeg -threads 1 -f null\`" "$d/dec"
    row "$res" "decode key frames only (\`-skip_frame nokey\`)" "$d/key"
    row "$res" "FFmpeg chain (7 filters, 1 thread)" "$d/chain"
    local chain=$ROW_CPU
    row "$res" "JPEG q2 hand-off via tmpfs ($((jpeg_bytes / 1048576)) MiB), 2 processes" "$d/jpeg"
    local jpeg=$ROW_CPU
    row "$res" "PNG hand-off via tmpfs ($((png_bytes / 1048576)) MiB), 2 processes" "$d/png"
    local png=$ROW_CPU

    check "$res libvqa CPU / decode-only CPU (median of paired runs)" \
        "$(paired_ratio "$d/vqa" "$d/dec")" "<=" 1.25
    check "$res FFmpeg chain CPU / libvqa CPU" "$(ratio "$chain" "$VQA_CPU")" ">=" 10
    check "$res PNG hand-off CPU / libvqa CPU" "$(ratio "$png" "$VQA_CPU")" ">=" 30
    check "$res JPEG hand-off CPU / libvqa CPU" "$(ratio "$jpeg" "$VQA_CPU")" ">=" 5
    [ "$res" = 480p ] && DEC480_CPU=$DEC_CPU
    return 0
}

cost_levels() {  # the cost levels `vqa scan` offers (only `full` before --cost existed)
    if "$vqa_bin" scan --help 2>&1 | grep -q -- '--cost'; then
        echo "full light keyframes"
    else
        echo full
    fi
}

# many_at LEVEL N CLIP FILE: one process, N copies of CLIP, two analysis threads.
many_at() {
    local level=$1 n=$2 clip=$3 file=$4 inputs=() i
    for i in $(seq "$n"); do inputs+=("s$i=$clip"); done
    local cost=()
    [ "$level" = full ] || cost=(--cost "$level")
    local r=$many_runs
    [ "$n" -gt 8 ] && r=1
    for i in $(seq "$r"); do
        measure "$file" "$vqa_bin" scan --threads 2 -q "${cost[@]}" -o "$work/many.jsonl" \
            "${inputs[@]}"
    done
}

# many_streams: how many 480p streams one process carries per core, and the
# memory each stream adds.
many_streams() {
    local clip="$clips_dir/clip_480p_${clip_s}s.mp4"
    [ -s "$clip" ] || "$here/clips.sh" "$clip" 854 480 "$clip_s"
    if [ -z "${DEC480_CPU:-}" ]; then
        local i
        for i in $(seq "$runs"); do
            measure "$work/dec480" ffmpeg -hide_banner -nostdin -nostats -threads 1 -i "$clip" \
                -f null -
        done
        read -r _ DEC480_CPU _ _ <<<"$(stats "$work/dec480")"
    fi
    local bound
    bound=$(awk -v c="$clip_s" -v d="$DEC480_CPU" 'BEGIN { printf "%.1f", c / d }')
    say ""
    say "## Many streams in one process (480p, \`vqa scan --threads 2\`, N inputs)"
    say ""
    say "Decode-only bound: $clip_s s / $DEC480_CPU CPU s = $bound real-time 480p30 streams per core."
    if [ "$many_runs" -gt 1 ]; then
        say "Runs: median of $many_runs for N <= 8, 1 above. Streams per core = N x ${clip_s} s / CPU s."
    else
        say "Runs: 1 per N. Streams per core = N x ${clip_s} s / CPU s."
    fi
    say "RSS per stream = (RSS(N) - RSS(1)) / (N - 1)."
    say ""
    say "| cost | N | runs | wall s | CPU s | streams per core | x real time on $(nproc) cores | peak RSS MiB | RSS per stream MiB |"
    say "|---|---|---|---|---|---|---|---|---|"
    local level full_spc=0
    for level in $(cost_levels); do
        many_level "$level" "$clip" "$bound" || true
        [ "$level" = full ] && full_spc=$LEVEL_SPC
        if [ "$level" = keyframes ]; then
            check "keyframes / full streams per core at N=$LEVEL_N" \
                "$(ratio "$LEVEL_SPC" "$full_spc")" ">=" 5
        fi
    done
    [ "$(cost_levels)" = full ] &&
        targets+=("- SKIP keyframes / full: this vqa has no --cost option")
    return 0
}

# many_level LEVEL CLIP BOUND: N = 1, 2, 4, ... up to max_streams, or until one
# run takes more than a minute. Sets LEVEL_SPC and LEVEL_N for the largest N.
many_level() {
    local level=$1 clip=$2 bound=$3 n=1 rss1=0 n_runs cpu wall rss
    while [ "$n" -le "$max_streams" ]; do
        echo "run.sh: many streams: cost $level, N=$n" >&2
        local f="$work/many.$level.$n"
        many_at "$level" "$n" "$clip" "$f"
        read -r n_runs cpu wall rss <<<"$(stats "$f")"
        [ "$n" = 1 ] && rss1=$rss
        LEVEL_SPC=$(awk -v n="$n" -v c="$clip_s" -v t="$cpu" 'BEGIN { printf "%.1f", n * c / t }')
        LEVEL_N=$n
        local rt per
        rt=$(awk -v n="$n" -v c="$clip_s" -v t="$wall" 'BEGIN { printf "%.1f", n * c / t }')
        per=$(awk -v n="$n" -v a="$rss" -v b="$rss1" \
            'BEGIN { if (n > 1) printf "%.1f", (a - b) / (n - 1); else print "-" }')
        say "| $level | $n | $n_runs | $wall | $cpu | $LEVEL_SPC | $rt | $rss | $per |"
        LEVEL_PER=$per
        awk -v w="$wall" 'BEGIN { exit !(w > 60) }' && break
        n=$((n * 2))
    done
    if [ "$level" = full ]; then
        local floor
        floor=$(awk -v b="$bound" 'BEGIN { printf "%.1f", 0.8 * b }')
        check "480p streams per core at N=$LEVEL_N (80% of decode-only bound $bound)" \
            "$LEVEL_SPC" ">=" "$floor"
        [ "$LEVEL_N" -gt 1 ] &&
            check "480p RSS per stream (MiB) at N=$LEVEL_N" "$LEVEL_PER" "<=" 20
    fi
    return 0
}
