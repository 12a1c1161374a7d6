#!/usr/bin/env bash
# The shipped base model, end to end (docs/base-model.md): the corpus, a fixed sample of its held-out files,
# the sweep of shapes at equal time (--sweep SECONDS), and the base model's run.
#   scripts/base-model.sh WORKDIR [--sweep SECONDS | --measure]
# Without an option it trains the base model (about two hours on 2 cores with bf16) and writes
# models/base.safetensors (f16) with its provenance. --measure scores and compresses a fixed sample of
# held-out files with the shipped model against gzip, brotli, xz and zstd (WORKDIR/measure.json).
set -euo pipefail
work=${1:?usage: scripts/base-model.sh WORKDIR [--sweep SECONDS | --measure]}
shift
sweep=0 measure=0
if [[ ${1:-} == --sweep ]]; then sweep=${2:?--sweep needs seconds}; fi
if [[ ${1:-} == --measure ]]; then measure=1; fi
here=$(cd "$(dirname "$0")/.." && pwd)
bgpt() { node "$here/dist/cli/main.js" "$@"; }
mkdir -p "$work"

# heldout_sample OUT SKIP FILES BYTES: each group's held-out files in SHA-256 order (a fixed, content-defined
# pick), the first SKIP passed over, then taken until at least FILES files and BYTES bytes, copied into OUT/<group>
heldout_sample() {
  rm -rf "$1"
  node --input-type=module -e '
    import fs from "node:fs";
    import path from "node:path";
    const { readManifest } = await import(process.argv[1]);
    const [, corpus, out, skip, files, bytes] = process.argv.slice(1);
    const byGroup = new Map();
    for (const r of readManifest(corpus)) if (r.split === "heldout") byGroup.set(r.group, [...(byGroup.get(r.group) ?? []), r]);
    for (const [g, rs] of byGroup) {
      let b = 0, n = 0;
      for (const r of rs.sort((x, y) => (x.sha256 < y.sha256 ? -1 : 1)).slice(Number(skip))) {
        if (n >= Number(files) && b >= Number(bytes)) break;
        const to = path.join(out, g, r.sha256.slice(0, 12) + "-" + path.basename(r.path));
        fs.mkdirSync(path.dirname(to), { recursive: true });
        fs.copyFileSync(path.join(corpus, r.path), to);
        b += r.bytes;
        n++;
      }
    }' "$here/dist/tasks/data/corpus.js" "$work/corpus" "$@"
}

[[ -f $work/corpus/manifest.tsv ]] || bgpt data corpus --out "$work/corpus" --seed 0
# the evaluation sample: the first 24 held-out files of each group
heldout_sample "$work/evalset" 0 24 0

if (( measure )); then
  # the measurement sample: after the evaluation sample's files, each group's next files until 400 kB (at
  # least 10 files): every file is from a package the model never saw
  heldout_sample "$work/measure" 24 10 400000
  bgpt bench compress --by-folder --verify-every 8 --json "$work/measure" > "$work/measure.json"
  for g in "$work"/measure/*/; do
    echo "{\"group\":\"$(basename "$g")\",\"eval\":$(bgpt eval --whole --json "$g")}"
  done > "$work/measure-eval.jsonl"
  # the table: per group, the model's bits per byte (every byte) and each compressor's total size
  node -e '
    const fs = require("fs");
    const [mj, ej] = process.argv.slice(1);
    const m = JSON.parse(fs.readFileSync(mj, "utf8"));
    const ev = new Map(fs.readFileSync(ej, "utf8").trim().split("\n").map((l) => JSON.parse(l)).map((r) => [r.group, r.eval]));
    const names = m.total.results.map((e) => e.name);
    const head = `| group | files | bytes | model bits/byte | ${names.join(" | ")} | bgpt ÷ best classic |`;
    console.log(head + "\n|" + " --- |".repeat(names.length + 5));
    const row = (label, g, bpb) => {
      const sizes = g.results.map((e) => e.compressed), best = Math.min(...sizes.slice(1));
      const files = g.file.match(/\((\d+) files\)/)[1];
      console.log(`| ${label} | ${files} | ${g.bytes} | ${bpb === undefined ? "" : bpb.toFixed(3)} | ${g.results.map((e) => `${e.compressed} (${e.bits_per_byte.toFixed(2)})`).join(" | ")} | ${(sizes[0] / best).toFixed(2)} |`);
    };
    let tl = 0, tt = 0;
    for (const g of m.groups) {
      const name = g.file.replace(/ \(.*/, ""), e = ev.get(name);
      if (e) for (const f of e.files) { tl += f.loss * f.bytes; tt += f.bytes; }
      row(name, g, e && e.bpb);
    }
    row("**all**", m.total, tt ? tl / tt / Math.LN2 : undefined); // files weighted by their bytes
    console.log(`\nbgpt output decoded and checked: ${m.verified} of ${m.files.length} files; speeds (bytes/s): ` + m.total.results.map((e) => `${e.name} ${e.compress_bytes_per_s} / ${e.decompress_bytes_per_s}`).join(", "));
  ' "$work/measure.json" "$work/measure-eval.jsonl" > "$work/measure.md"
  cat "$work/measure.md"
  exit 0
fi

common=(--train "$work/corpus/train" --eval "$work/evalset" --precision bf16 --batch-size 8
  --warmup 0.05 --dropout 0 --weight-decay 0.1 --seed 0)

if (( sweep > 0 )); then
  # each shape: a 12-step probe for its speed, then a full schedule sized to SECONDS
  while read -r name S L H P B lr; do
    shape=(--patch-size "$S" --patch-length "$L" --hidden "$H" --patch-layers "$P" --byte-layers "$B" --lr "$lr")
    [[ -f $work/sweep/$name.safetensors ]] && continue
    bgpt train "${common[@]}" "${shape[@]}" --out "$work/sweep/$name-probe.safetensors" --steps 1000 --max-steps 12 >/dev/null
    rate=$(node -e 'const l=require("fs").readFileSync(process.argv[1],"utf8").trim().split("\n").map(JSON.parse).filter(r=>r.type==="step");console.log(l.at(-1).elapsed_s/l.length)' "$work/sweep/$name-probe.safetensors.log.jsonl")
    steps=$(node -e "console.log(Math.max(20, Math.floor($sweep / $rate)))")
    bgpt train "${common[@]}" "${shape[@]}" --out "$work/sweep/$name.safetensors" --steps "$steps" --eval-every 0 > "$work/sweep/$name.out"
  done <<'SHAPES'
s16-h256-4x2 16 256 256 4 2 6e-4
s8-h256-4x2 8 512 256 4 2 6e-4
s4-h256-4x2 4 1024 256 4 2 6e-4
s8-h384-4x2 8 512 384 4 2 6e-4
s16-h256-4x2-lr2e-3 16 256 256 4 2 2e-3
SHAPES
  exit 0
fi

# the base model: the sweep's choice (docs/base-model.md) in two stages of a fixed number of steps: a cosine
# schedule from 1e-3, then a second one from 6e-4 (a warm restart from the first stage's best checkpoint, another
# seed so that it reads other windows of the files); about two hours on 2 cores with bf16
base=(--patch-size 16 --patch-length 256 --hidden 256 --patch-layers 4 --byte-layers 2)
stage1=(--lr 1e-3 --steps 3600 --eval-every 400 --out "$work/base/base.safetensors")
stage2=(--lr 6e-4 --steps 3400 --warmup 0.02 --seed 1 --eval-every 400 --init "$work/base/base.safetensors" --out "$work/base2/base.safetensors")
mkdir -p "$work/base" "$work/base2"
commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
start=$(date +%s)
bgpt train "${common[@]}" "${base[@]}" "${stage1[@]}" > "$work/base/train.out"
bgpt train "${common[@]}" "${base[@]}" "${stage2[@]}" > "$work/base2/train.out"
seconds=$(( $(date +%s) - start ))
node -e '
  const fs = require("fs"), os = require("os"), path = require("path");
  const [work, seconds, commit, argv1, argv2] = process.argv.slice(1);
  const corpus = JSON.parse(fs.readFileSync(path.join(work, "corpus", "corpus.json"), "utf8"));
  const log = fs.readFileSync(path.join(work, "base2", "base.safetensors.log.jsonl"), "utf8").trim().split("\n").map(JSON.parse);
  const evals = log.filter((r) => r.type === "eval"), best = evals.reduce((a, r) => (r.loss < a.loss ? r : a));
  console.log(JSON.stringify({
    recipe: "scripts/base-model.sh WORKDIR (docs/base-model.md)",
    command: "bgpt train " + argv1 + " && bgpt train " + argv2,
    corpus_manifest_sha256: corpus.manifest_sha256,
    corpus: `${corpus.files} files, ${corpus.bytes} bytes, seed ${corpus.seed}, ${corpus.packages.length} Debian packages`,
    seed: 0, steps: 3600 + 3400, train_seconds: Number(seconds),
    eval_sample_bpb: Number(best.bpb.toFixed(4)), eval_sample_step: 3600 + best.step,
    cpu: os.cpus()[0].model.trim() + ", " + os.cpus().length + " cores",
    commit,
  }));' "$work" $seconds "$commit" "${common[*]} ${base[*]} ${stage1[*]}" "${common[*]} ${base[*]} ${stage2[*]}" \
  | sed "s#$work#WORKDIR#g" > "$work/base2/provenance.json"
mkdir -p "$here/models"
bgpt export "$work/base2/base.safetensors" "$here/models/base.safetensors" --dtype f16 --provenance "$work/base2/provenance.json"
