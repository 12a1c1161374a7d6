/**
 * Interop with PyTorch (runs when /usr/bin/python3 has torch; skipped otherwise): our .pth exports load with
 * torch.load(weights_only=True) and strictly into the project's PyTorch reference (python/bgpt_torch.py),
 * giving the vector losses and classifier logits; f16 exports match torch's own rounding; an export with
 * the optimizer resumes in torch with the same update as here; torch's save of that is read back here.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tsKernels } from '../src/backend/index.js';
import { checkpointOf, loadCheckpoint } from '../src/io/checkpoint.js';
import { exportPth } from '../src/io/export.js';
import { loadModelFile, readModelWeights } from '../src/io/weights.js';
import type { BgptModel } from '../src/model/bgpt.js';
import { AdamW } from '../src/optim/adamw.js';
import { cosineWithWarmup } from '../src/optim/schedule.js';
import { VECTORS, batchOf, relErr, runPython, torchSkip, vectors } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'bgpt-io-interop-'));

function python(script: string, ...args: string[]): unknown {
  const file = join(tmp, `s${Math.random().toString(36).slice(2)}.py`);
  writeFileSync(file, script);
  const r = runPython([file, ...args]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

const COMMON = `
import json, sys, math, torch, torch.nn as nn
import bgpt_torch as bt
torch.set_num_threads(1)
V = json.load(open(${JSON.stringify(join(VECTORS, 'cases.json'))}))
C = V['config']
CFG = bt.Config(hidden=C['HIDDEN_SIZE'], patch_layers=C['PATCH_NUM_LAYERS'], byte_layers=C['BYTE_NUM_LAYERS'],
                patch_size=C['PATCH_SIZE'], patch_length=C['PATCH_LENGTH'], heads=C['n_head'])
def make():
    return bt.BGPT(CFG, init=False)
def losses(m):
    out = {}
    with torch.no_grad():
        for c in V['cases']:
            loss, _ = m(torch.tensor(c['inputs']), torch.tensor(c['masks']))
            out[c['name']] = float(loss)
    return out
`;

describe('interop with PyTorch', { skip: torchSkip() }, () => {
  it('an exported generative .pth loads with weights_only=True, strictly, and gives the vector losses', () => {
    const p = join(tmp, 'gen.pth');
    exportPth(p, loadCheckpoint(join(VECTORS, 'weights.safetensors')));
    const r = python(`${COMMON}
c = torch.load(sys.argv[1], weights_only=True)
m = make()
res = m.load_state_dict(c['model'], strict=True)
m.eval()
ref = bt.load_pth(${JSON.stringify(join(VECTORS, 'weights.pth'))})['model']
print(json.dumps(dict(keys=list(c.keys()), same_keys=list(ref.keys()) == list(c['model'].keys()),
  equal=all(torch.equal(ref[k], c['model'][k]) and ref[k].dtype == c['model'][k].dtype for k in ref),
  tied=c['model']['byte_level_decoder.base.lm_head.weight'].data_ptr() == c['model']['byte_level_decoder.base.transformer.wte.weight'].data_ptr(),
  min_eval_loss=float(c['min_eval_loss']), losses=losses(m))))
`, p) as { keys: string[]; same_keys: boolean; equal: boolean; tied: boolean; min_eval_loss: number; losses: Record<string, number> };
    assert.deepEqual(r.keys, ['model', 'epoch', 'best_epoch', 'min_eval_loss']);
    assert.ok(r.same_keys, 'same keys in the same order as the original state dict');
    assert.ok(r.equal, 'every tensor (buffers included) equal to the original, same dtype');
    assert.ok(r.tied, 'lm_head shares wte storage');
    const ours = loadModelFile(tsKernels, p).model as BgptModel;
    for (const c of vectors.cases) {
      assert.ok(Math.abs(r.losses[c.name] - c.loss) / c.loss <= 1e-6, `torch ${c.name}: ${r.losses[c.name]} vs ${c.loss}`);
      const l = ours.forward(batchOf(c)).loss;
      assert.ok(Math.abs(l - r.losses[c.name]) / c.loss <= 1e-5, `ours ${c.name}: ${l} vs torch ${r.losses[c.name]}`);
    }
  });

  it('an exported classifier .pth loads into the original classification model and gives the logits', () => {
    const p = join(tmp, 'cls.pth');
    exportPth(p, loadCheckpoint(join(VECTORS, 'cls.safetensors')));
    const r = python(`${COMMON}
c = torch.load(sys.argv[1], weights_only=True)
m = bt.Classifier(CFG, len(c['labels']), init=False)
m.load_state_dict(c['model'], strict=True)
with torch.no_grad():
    logits = m(torch.tensor([V['classifier']['input']]))
print(json.dumps(dict(labels=c['labels'], logits=logits[0].tolist())))
`, p) as { labels: Record<string, number>; logits: number[] };
    assert.deepEqual(r.labels, { '0': 0, '1': 1, '2': 2 });
    assert.ok(relErr(r.logits, vectors.classifier.logits) <= 1e-5, `${r.logits} vs ${vectors.classifier.logits}`);
  });

  it('f16 and bf16 exports round exactly as torch does', () => {
    const ck = loadCheckpoint(join(VECTORS, 'weights.pth'));
    exportPth(join(tmp, 'h.pth'), ck, { dtype: 'F16' });
    exportPth(join(tmp, 'b.pth'), ck, { dtype: 'BF16' });
    const r = python(`${COMMON}
ref = bt.load_pth(${JSON.stringify(join(VECTORS, 'weights.pth'))})['model']
h = torch.load(sys.argv[1], weights_only=True)['model']
b = torch.load(sys.argv[2], weights_only=True)['model']
skip = lambda k: k.endswith('attn.bias') or k.endswith('masked_bias')
print(json.dumps(dict(h=all(torch.equal(ref[k].half(), h[k]) for k in ref if not skip(k)),
                      b=all(torch.equal(ref[k].bfloat16(), b[k]) for k in ref if not skip(k)))))
`, join(tmp, 'h.pth'), join(tmp, 'b.pth')) as { h: boolean; b: boolean };
    assert.ok(r.h, 'float16 rounding');
    assert.ok(r.b, 'bfloat16 rounding');
  });

  it('an export with the optimizer resumes in torch with the same next step; torch.save of it reads back here', () => {
    const TOTAL = 8, WARMUP = 2, LR = 1e-3;
    const m = loadModelFile(tsKernels, join(VECTORS, 'weights.pth'), { grad: true }).model as BgptModel;
    const opt = new AdamW(tsKernels, m.layout.size, { lr: LR });
    const wte = m.layout.get('patch_level_decoder.base.wte.weight');
    const stepOn = (i: number) => {
      m.zeroGrad();
      m.forward(batchOf(vectors.cases[i]), { grad: true });
      m.backward();
      opt.update(m.params.data, m.params.grad!, LR * cosineWithWarmup(opt.step, TOTAL, WARMUP), [[wte.offset, wte.size]]);
    };
    stepOn(0);
    stepOn(1);
    const p = join(tmp, 'opt.pth'), out = join(tmp, 'torch-after.pth');
    exportPth(p, checkpointOf(m, { optimizer: opt, training: { epoch: 1, bestEpoch: 1, bestEvalLoss: 2.5, schedule: { position: 2, warmupSteps: WARMUP, totalSteps: TOTAL, baseLr: LR } } }), { optimizer: true });
    const r = python(`${COMMON}
from torch.optim.lr_scheduler import LambdaLR
W, T = ${WARMUP}, ${TOTAL}
def lam(s):
    if s < W: return s / max(1, W)
    p = (s - W) / max(1, T - W)
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * p)))
try:
    torch.load(sys.argv[1], weights_only=True); wo = True
except Exception:
    wo = False
c = torch.load(sys.argv[1])
m = make()
m.load_state_dict(c['model'], strict=True)
opt = torch.optim.AdamW(m.parameters(), lr=${LR})
sched = LambdaLR(opt, lam)
opt.load_state_dict(c['optimizer'])
sched.load_state_dict(c['lr_sched'])
case = V['cases'][2]
m.train()
loss, _ = m(torch.tensor(case['inputs']), torch.tensor(case['masks']))
loss.backward()
opt.step(); sched.step()
torch.save({'model': m.state_dict(), 'epoch': c['epoch'] + 1, 'best_epoch': c['best_epoch'], 'min_eval_loss': 2.25}, sys.argv[2])
print(json.dumps(dict(weights_only=wo, version=torch.__version__, lr=opt.param_groups[0]['lr'], last_epoch=sched.last_epoch)))
`, p, out) as { weights_only: boolean; version: string; lr: number; last_epoch: number };
    if (!r.version.startsWith('1.')) assert.ok(r.weights_only, 'torch ≥ 2.0 reads the optimizer export with weights_only=True');
    assert.equal(r.last_epoch, 3);
    assert.ok(Math.abs(r.lr - LR * cosineWithWarmup(3, TOTAL, WARMUP)) < 1e-15);
    const before = m.params.data.slice();
    stepOn(2);
    const t = readModelWeights(out);
    assert.deepEqual(t.meta.training, { epoch: 2, bestEpoch: 1, bestEvalLoss: 2.25 });
    // the third update, torch's against ours (moments and step restored from the export)
    let worst = 0;
    for (const s of m.layout.specs) {
      const o = s.offset, n = s.size;
      const dTorch = Float32Array.from(t.params.subarray(o, o + n), (x, i) => x - before[o + i]);
      const dOurs = Float32Array.from(m.params.data.subarray(o, o + n), (x, i) => x - before[o + i]);
      worst = Math.max(worst, relErr(dTorch, dOurs, 1e-6));
    }
    assert.ok(worst <= 1e-2, `update differs: ${worst}`);
  });
});
