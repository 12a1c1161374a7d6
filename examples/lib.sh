# Shared by the demos: strict mode, the bgpt command, QUICK sizes, and a step printer.
# BGPT overrides the command (default: this checkout's build, node dist/cli/main.js).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "${BGPT:-}" ]; then
  if [ ! -f "$ROOT/dist/cli/main.js" ]; then
    echo "examples: $ROOT/dist/cli/main.js is missing; run npm ci (or npm run build) first" >&2
    exit 1
  fi
  BGPT="node $ROOT/dist/cli/main.js"
fi
# QUICK=1 shrinks data and training to under a minute: a check that the demo runs, not a result
QUICK="${QUICK:-0}"
pick() { if [ "$QUICK" = 1 ]; then echo "$2"; else echo "$1"; fi; }
step() { printf '\n== %s\n' "$*" >&2; }
bgpt() { echo "+ bgpt $*" >&2; $BGPT "$@"; }
# "A% accuracy on N files" from `bgpt eval --json` of a classifier
accuracy_of() { node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`${(r.accuracy * 100).toFixed(1)}% accuracy on ${r.files.length} held-out files`);' "$1"; }
# "X bits per byte" from `bgpt eval --json` of a generative or conversion model
bpb_of() { node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`${r.bpb.toFixed(4)} bits per byte on ${r.files.length} held-out files`);' "$1"; }
