#!/usr/bin/env bash
# Audio classification on 8 kHz 8-bit one-second WAV (the paper's Speech Commands v2 setting): recordings in
# class folders → `bgpt data audio` (8 kHz mono 8-bit, 1 s: 505 patches) → Label_N.wav → a small classifier.
# SOURCE=speech: ten keywords spoken by espeak-ng in random voices (Debian: apt-get install espeak-ng);
# SOURCE=sounds: five kinds of synthesized sound (no system package needed). Default: speech when espeak-ng
# is installed, else sounds.
source "$(dirname "$0")/lib.sh"
OUT="${OUT:-examples-out/audio-classes}"
if [ -z "${SOURCE:-}" ]; then if command -v espeak-ng >/dev/null; then SOURCE=speech; else SOURCE=sounds; fi; fi
PER_CLASS=$(pick 100 6)
EPOCHS=$(pick 6 1)
rm -rf "$OUT" && mkdir -p "$OUT"

step "data ($SOURCE): $PER_CLASS recordings per class → 8 kHz 8-bit 1 s WAV, 20% held out"
case "$SOURCE" in
  speech) bgpt data speech --out "$OUT/raw" --count "$PER_CLASS" --seed 1 ;;
  sounds) bgpt data sounds --out "$OUT/raw" --count "$PER_CLASS" --seed 1 ;;
  *) echo "SOURCE must be speech or sounds" >&2; exit 1 ;;
esac
bgpt data audio "$OUT/raw" --out "$OUT/wav"
bgpt data classes "$OUT/wav" --out "$OUT/data" --test-share 0.2 --seed 1

step "training a classifier from scratch ($EPOCHS epochs; a 1 s WAV is 505 patches)"
bgpt train --task cls --train "$OUT/data/train" --eval "$OUT/data/test" --out "$OUT/model.safetensors" \
  --hidden 128 --patch-layers 2 --byte-layers 1 --patch-size 16 --patch-length 512 \
  --batch-size 8 --epochs "$EPOCHS" --lr 1e-3 --seed 1 | grep -v '^step '

step "held-out recordings"
bgpt eval --model "$OUT/model.safetensors" --json "$OUT/data/test" > "$OUT/eval.json"
bgpt gallery "$OUT/data/test" --out "$OUT/gallery.html" --title "held-out $SOURCE (8 kHz 8-bit WAV)" --max 100
echo "result: audio classification ($SOURCE, 8 kHz 8-bit WAV), $(accuracy_of "$OUT/eval.json")"
