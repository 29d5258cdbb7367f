#!/bin/sh
# The accuracy run's smoke version: a few easy items of the labelled corpus
# (an exact freeze, black with a corner logo, muted audio, a clean clip),
# scanned with every detector at its defaults and scored with the corpus's
# own rules. These items are easy, so anything short of perfect (F1 = 1 on
# every kind that has truth or events: no miss, no false alarm, starts within
# tolerance) fails. The full run is bench/corpus/run.sh (docs/accuracy.md).
#
#   test_accuracy.sh SOURCE_ROOT VQA_TOOL     (VQA_PLUGIN_PATH from the env)
set -eu

root=${1:?source root}
vqa=${2:?vqa tool}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vqa-accuracy.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

python3 "$root/bench/corpus/make.py" --smoke --jobs 2 "$tmp/corpus"
set --
for truth in "$tmp"/corpus/*.truth.jsonl; do
    name=$(basename "$truth" .truth.jsonl)
    set -- "$@" "$name=$(ls "$tmp/corpus/$name".* | grep -v '\.truth\.jsonl$')"
done
"$vqa" scan -o "$tmp/events.jsonl" "$@"
python3 "$root/bench/corpus/score.py" "$tmp/corpus" --details --require-f1 1.0 \
    --system "libvqa=$tmp/events.jsonl"
