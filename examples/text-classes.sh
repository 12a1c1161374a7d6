#!/usr/bin/env bash
# Text classification (the paper's AG News; here generated news snippets in the same four topics):
# class folders → Label_N.txt files → a small bGPT classifier trained from scratch → held-out accuracy.
source "$(dirname "$0")/lib.sh"
OUT="${OUT:-examples-out/text-classes}"
PER_CLASS=$(pick 500 40)
EPOCHS=$(pick 8 1)
rm -rf "$OUT" && mkdir -p "$OUT"

step "data: $PER_CLASS snippets per topic, 20% held out"
bgpt data text --out "$OUT/topics" --count "$PER_CLASS" --seed 1
bgpt data classes "$OUT/topics" --out "$OUT/data" --test-share 0.2 --seed 1

step "training a classifier from scratch ($EPOCHS epochs)"
bgpt train --task cls --train "$OUT/data/train" --eval "$OUT/data/test" --out "$OUT/model.safetensors" \
  --hidden 128 --patch-layers 2 --byte-layers 1 --patch-size 16 --patch-length 64 \
  --batch-size 8 --epochs "$EPOCHS" --lr 1e-3 --seed 1 | grep -v '^step '

step "held-out files"
bgpt eval --model "$OUT/model.safetensors" --json "$OUT/data/test" > "$OUT/eval.json"
bgpt classify --model "$OUT/model.safetensors" --top 2 "$OUT/data/test" | head -4
echo "result: text classification, $(accuracy_of "$OUT/eval.json")"
