#!/usr/bin/env bash
# Image classification on 32×32 24-bit BMP (the paper's CIFAR-10 setting; here generated pictures): PNG
# pictures in class folders → `bgpt data image` (32×32 BMP) → Label_N.bmp → a small classifier from scratch.
# KIND=patterns (default: grey-level stripes across, down, diagonal, and checkerboards of random period and
# phase) or KIND=shapes (circles, squares, triangles, crosses in random colours: a much harder task that a
# model of this size barely learns in this time).
source "$(dirname "$0")/lib.sh"
OUT="${OUT:-examples-out/image-classes}"
KIND="${KIND:-patterns}"
PER_CLASS=$(pick 500 12)
EPOCHS=$(pick 6 1)
case "$KIND" in patterns) FLAG="--patterns --grey" ;; shapes) FLAG= ;; *) echo "KIND must be patterns or shapes" >&2; exit 1 ;; esac
rm -rf "$OUT" && mkdir -p "$OUT"

step "data: $PER_CLASS $KIND pictures per class (64×64 PNG) → 32×32 BMP, 20% held out"
bgpt data shapes $FLAG --out "$OUT/png" --count "$PER_CLASS" --seed 1
bgpt data image "$OUT/png" --out "$OUT/bmp" --size 32
bgpt data classes "$OUT/bmp" --out "$OUT/data" --test-share 0.2 --seed 1

step "training a classifier from scratch ($EPOCHS epochs; a BMP is 198 patches)"
bgpt train --task cls --train "$OUT/data/train" --eval "$OUT/data/test" --out "$OUT/model.safetensors" \
  --hidden 128 --patch-layers 2 --byte-layers 1 --patch-size 16 --patch-length 200 \
  --batch-size 8 --epochs "$EPOCHS" --lr 1e-3 --seed 1 | grep -v '^step '

step "held-out pictures"
bgpt eval --model "$OUT/model.safetensors" --json "$OUT/data/test" > "$OUT/eval.json"
bgpt gallery "$OUT/data/test" --out "$OUT/gallery.html" --title "held-out $KIND (32×32 BMP)" --max 200
echo "result: image classification ($KIND, 32×32 BMP), $(accuracy_of "$OUT/eval.json")"
