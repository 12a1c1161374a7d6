#!/usr/bin/env bash
# ABC → MIDI conversion (the paper's symbolic-music task; here tunes from a seeded generator, converted to
# MIDI by abcjs): train a small conversion model on name.abc + name.mid pairs, then on held-out tunes report
# bits per byte of the MIDI part and how many converted files parse as MIDI and play the reference notes.
source "$(dirname "$0")/lib.sh"
OUT="${OUT:-examples-out/abc2midi}"
TRAIN=$(pick 3000 60)
TEST=$(pick 100 8)
BARS=4
EPOCHS=$(pick 4 1)
rm -rf "$OUT" && mkdir -p "$OUT"

step "data: $TRAIN training and $TEST held-out tunes of $BARS bars (different seeds), converted to MIDI with abcjs"
bgpt data tunes --out "$OUT/train.abc" --count "$TRAIN" --bars "$BARS" --seed 1
bgpt data tunes --out "$OUT/test.abc" --count "$TEST" --bars "$BARS" --seed 2
bgpt data abc2midi "$OUT/train.abc" --out "$OUT/train"
bgpt data abc2midi "$OUT/test.abc" --out "$OUT/test"

step "training a conversion model abc->mid from scratch ($EPOCHS epochs)"
bgpt train --convert 'abc->mid' --train "$OUT/train" --eval "$OUT/test" --out "$OUT/model.safetensors" \
  --hidden 256 --patch-layers 3 --byte-layers 1 --patch-size 16 --patch-length 48 \
  --batch-size 8 --epochs "$EPOCHS" --lr 1e-3 --seed 1 | grep -v '^step '

step "held-out tunes: loss on the MIDI part, then greedy conversion of each ABC file"
bgpt eval --model "$OUT/model.safetensors" --convert 'abc->mid' --json "$OUT/test" > "$OUT/eval.json"
bgpt convert --model "$OUT/model.safetensors" --to mid --top-k 1 --seed 1 --out "$OUT/converted" "$OUT"/test/*.abc > /dev/null
bgpt data midi-match "$OUT/converted" "$OUT/test" --json > "$OUT/match.json"
bgpt gallery "$OUT/test" "$OUT/converted" --out "$OUT/gallery.html" --title 'ABC → MIDI: reference and converted'
node -e '
  const m = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const pct = (x) => `${(x * 100).toFixed(1)}%`;
  console.log(`result: ABC→MIDI, ${process.argv[2]}; of ${m.files} converted files ${pct(m.parses)} parse as MIDI and ${pct(m.notes_match)} play the reference notes (${pct(m.parses_after_repair)} and ${pct(m.notes_match_after_repair)} with chunk lengths repaired), ${pct(m.bytes_equal)} byte-identical, mean note F1 ${m.mean_note_f1.toFixed(3)}`);
' "$OUT/match.json" "$(bpb_of "$OUT/eval.json")"
