#!/usr/bin/env bash
# The shipped content-type detector (docs/detect.md): the detect set from the corpus, the detector fine-tuned
# from the shipped base model, the same classifier trained from scratch for comparison, and both measured
# against libmagic on the held-out files (by Debian package).
#   scripts/detect-model.sh WORKDIR     (WORKDIR/corpus: the corpus of scripts/base-model.sh)
# Writes models/detect.safetensors (f16) with its provenance, and WORKDIR/detect/{finetune,scratch}.json.
set -euo pipefail
work=${1:?usage: scripts/detect-model.sh WORKDIR}
here=$(cd "$(dirname "$0")/.." && pwd)
bgpt() { node "$here/dist/cli/main.js" "$@"; }
[[ -f $work/corpus/manifest.tsv ]] || bgpt data corpus --out "$work/corpus" --seed 0
bgpt data detect-set --corpus "$work/corpus" --out "$work/detect-set"
mkdir -p "$work/detect"

# a detector reads 127 patches of 16 bytes after the header (2,032 bytes): a longer file's first 1,008 and last
# 1,024 bytes, trained so (--crop ends; docs/detect.md measured it against heads alone)
shape=(--task cls --labels-from-folders --patch-size 16 --patch-length 128 --hidden 256 --patch-layers 4 --byte-layers 2 --crop ends)
common=(--train "$work/detect-set/train" --eval-split 0.05 --precision bf16 --batch-size 16 --warmup 0.05 --dropout 0
  --weight-decay 0.01 --seed 0 --lr 5e-4 --epochs "${DETECT_EPOCHS:-4}")
commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
for run in finetune scratch; do
  init=()
  [[ $run == finetune ]] && init=(--init "$here/models/base.safetensors")
  start=$(date +%s)
  bgpt train "${common[@]}" "${shape[@]}" "${init[@]}" --out "$work/detect/$run.safetensors" > "$work/detect/$run.out"
  echo $(( $(date +%s) - start )) > "$work/detect/$run.seconds"
  bgpt bench detect -m "$work/detect/$run.safetensors" --html "$work/detect/$run-confusion.html" "$work/detect-set/heldout" > "$work/detect/$run.json"
done

node -e '
  const fs = require("fs"), os = require("os"), path = require("path");
  const [work, commit, argv] = process.argv.slice(1);
  const corpus = JSON.parse(fs.readFileSync(path.join(work, "corpus", "corpus.json"), "utf8"));
  const r = JSON.parse(fs.readFileSync(path.join(work, "detect", "finetune.json"), "utf8"));
  console.log(JSON.stringify({
    recipe: "scripts/detect-model.sh WORKDIR (docs/detect.md)",
    command: "bgpt train " + argv,
    corpus_manifest_sha256: corpus.manifest_sha256,
    data: "bgpt data detect-set --corpus WORKDIR/corpus (labels: the corpus rule; split by Debian package)",
    seed: 0, train_seconds: Number(fs.readFileSync(path.join(work, "detect", "finetune.seconds"), "utf8")),
    heldout_accuracy: Number(r.bgpt.accuracy.toFixed(4)), heldout_files: r.files,
    cpu: os.cpus()[0].model.trim() + ", " + os.cpus().length + " cores", commit,
  }));' "$work" "$commit" "${common[*]} ${shape[*]} --init models/base.safetensors --out WORKDIR/detect/finetune.safetensors" \
  | sed "s#$work#WORKDIR#g" > "$work/detect/provenance.json"
bgpt export "$work/detect/finetune.safetensors" "$here/models/detect.safetensors" --dtype f16 --provenance "$work/detect/provenance.json"
