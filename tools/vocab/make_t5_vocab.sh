#!/usr/bin/env bash
# Makes tests/data/vocab/ggml-vocab-t5-unigram.gguf: a vocabulary-only GGUF laid out like Google's T5
# (SentencePiece Unigram, 32000 pieces, pad=0 eos=1 unk=2, no BOS, nmt_nfkc normalisation, then
# 100 <extra_id_N> sentinels: 32100 tokens), as llama.cpp's converter (conversion/t5.py) writes one.
# There is no real T5 vocabulary on the build machines, so one is trained on ../shared/corpus.
#
# Deterministic: the first $SENTENCES paragraphs of the train sample in file order (all of them:
# --shuffle_input_sentence=false), a fixed thread count (the scores depend on it) and seed; every
# character of the corpus is kept (--character_coverage=1.0: 171 of them), so characters outside
# it are unknown. The GGUF is byte-identical run after run. Needs Debian's `sentencepiece`
# (spm_train; installed with apt-get when missing), xz and python3 (no third-party modules).
#
# Usage: tools/vocab/make_t5_vocab.sh [--shared DIR] [--out FILE] [--keep-model DIR]
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
shared="$root/../shared"
out="$root/tests/data/vocab/ggml-vocab-t5-unigram.gguf"
keep_model=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --shared) shared="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --keep-model) keep_model="$2"; shift 2 ;;
    *) echo "usage: $0 [--shared DIR] [--out FILE] [--keep-model DIR]" >&2; exit 2 ;;
  esac
done

SENTENCES=120000

if ! command -v spm_train >/dev/null; then
  apt-get install -y sentencepiece || { apt-get update && apt-get install -y sentencepiece; }
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Paragraphs, one a line, in file order (the corpus separates them with blank lines).
xzcat "$shared/corpus/train-sample.txt.xz" | awk 'length > 0' >"$work/train.txt"

# T5's layout: Unigram, pad 0, eos 1, unk 2, no bos, NFKC as SentencePiece's nmt_nfkc.
spm_train --input="$work/train.txt" --model_prefix="$work/t5" --model_type=unigram \
  --vocab_size=32000 --pad_id=0 --eos_id=1 --unk_id=2 --bos_id=-1 \
  --pad_piece='<pad>' --eos_piece='</s>' --unk_piece='<unk>' \
  --normalization_rule_name=nmt_nfkc --character_coverage=1.0 \
  --input_sentence_size="$SENTENCES" --shuffle_input_sentence=false \
  --num_threads=2 --random_seed=17 --minloglevel=1

if [[ -n "$keep_model" ]]; then
  mkdir -p "$keep_model"
  cp "$work/t5.model" "$work/t5.vocab" "$keep_model/"
fi

python3 "$here/sp_model_to_gguf.py" --model "$work/t5.model" --extra-ids 100 --out "$out"
echo "wrote $out ($(stat -c %s "$out") bytes)"
