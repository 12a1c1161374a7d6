/**
 * Hostile and broken files: every one is refused with a one-line error naming the file, nothing in it is
 * executed, and memory stays bounded by what the file really holds.
 */
import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tsKernels } from '../src/backend/index.js';
import { loadCheckpoint, saveCheckpoint } from '../src/io/checkpoint.js';
import { META } from '../src/io/meta.js';
import { pickle } from '../src/io/pth/pickle.js';
import { unpickle } from '../src/io/pth/unpickle.js';
import { PyDict, StorageRef, TensorRef } from '../src/io/pth/pyvalue.js';
import { writePth } from '../src/io/pth/write-pth.js';
import { ZipWriter } from '../src/io/pth/zip-write.js';
import { readSafetensorsHeader } from '../src/io/safetensors.js';
import { loadModelFile, readModelWeights } from '../src/io/weights.js';
import { VECTORS } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'bgpt-io-hostile-'));
let n = 0;
const fresh = (ext: string) => join(tmp, `f${n++}${ext}`);

/** Loading must fail with one line that names the file (and, when given, says `why`). */
function refused(path: string, why?: RegExp): string {
  let msg = '';
  assert.throws(() => loadModelFile(tsKernels, path), (e: Error) => {
    msg = e.message;
    return true;
  });
  assert.ok(!msg.includes('\n'), `one line: ${msg}`);
  assert.ok(msg.startsWith(`${path}: `), `names the file: ${msg}`);
  if (why) assert.match(msg, why);
  return msg;
}

/** A zip archive laid out as torch writes it, with the given pickle and storages. */
function archive(pkl: Uint8Array, storages: Record<string, Uint8Array> = {}, path = fresh('.pth')): string {
  const fd = openSync(path, 'w');
  const z = new ZipWriter(fd);
  z.add('archive/data.pkl', pkl);
  for (const [k, v] of Object.entries(storages)) z.add(`archive/data/${k}`, v);
  z.add('archive/version', Buffer.from('3\n'));
  z.finish();
  closeSync(fd);
  return path;
}

const marker = join(tmp, 'pwned');
const proto2 = (body: string) => Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.from(body, 'latin1'), Buffer.from('.')]);
const binunicode = (s: string) => 'X' + String.fromCharCode(s.length, 0, 0, 0) + s;

describe('hostile .pth archives', () => {
  it('a truncated archive', () => {
    const whole = readFileSync(join(VECTORS, 'weights.pth'));
    for (const cut of [whole.length - 1, whole.length - 30, Math.floor(whole.length / 2), 100, 3]) {
      const p = fresh('.pth');
      writeFileSync(p, whole.subarray(0, cut));
      refused(p, /truncated|not a complete zip|not a model file/);
    }
  });

  for (const [name, body] of [
    ['os.system', `cos\nsystem\n${binunicode(`touch ${marker}`)}\x85R`],
    ['builtins.eval', `cbuiltins\neval\n${binunicode(`open('${marker}','w')`)}\x85R`],
    ['posix.system via STACK_GLOBAL', `\x8c\x05posix\x8c\x06system\x93${binunicode(`touch ${marker}`)}\x85R`],
    ['torch.load (not an allowed torch global)', `ctorch\nload\n${binunicode(marker)}\x85R`],
  ]) {
    it(`a pickle calling ${name}`, () => {
      refused(archive(proto2(body)), /refers to .* \(refused, not executed\)/);
      assert.ok(!existsSync(marker));
    });
  }

  it('object-building and unknown opcodes', () => {
    refused(archive(proto2(`(ios\nsystem\n${binunicode('x')}`)), /INST is not allowed/);
    refused(archive(proto2(`ccollections\nOrderedDict\n)\x81`)), /NEWOBJ is not allowed/);
    refused(archive(proto2(`ccollections\nOrderedDict\n(]tR`)), /OrderedDict is only rebuilt empty/);
    refused(archive(proto2('\xff')), /unknown opcode 0xff/);
    refused(archive(Buffer.from([0x80, 0x02, 0x7d])), /ends without STOP/);
    refused(archive(proto2('h\x05')), /memo 5 is not set/);
  });

  const tensorPickle = (key: string, numel: number, shape: number[], stride: number[], offset = 0) =>
    pickle(new PyDict(false, [['model', new PyDict(true, [['x', new TensorRef(new StorageRef(key, 'F32', 'cpu', numel), offset, shape, stride)]])]]));

  it('storages that are not in the archive, or smaller than declared', () => {
    refused(archive(tensorPickle('7', 4, [4], [1]), { 0: new Uint8Array(16) }), /storage 7 is not in the archive/);
    refused(archive(tensorPickle('0', 4, [4], [1]), { 0: new Uint8Array(8) }), /storage 0 has 8 bytes, the pickle declares 16/);
    // a storage key that tries to leave the archive's folder is not even a valid key
    const evil = Buffer.from(tensorPickle('0', 4, [4], [1]).toString('latin1').replace('X\x01\x00\x00\x000', 'X\x01\x00\x00\x00/'), 'latin1');
    refused(archive(evil, { 0: new Uint8Array(16) }), /bad storage key/);
  });

  it('tensor views that reach past their storage', () => {
    refused(archive(tensorPickle('0', 4, [4], [2]), { 0: new Uint8Array(16) }), /reaches element 6 of storage 0, which has 4/);
    refused(archive(tensorPickle('0', 4, [2, 2], [2, 1], 1), { 0: new Uint8Array(16) }), /reaches element 4/);
  });

  it('a storage claiming terabytes allocates nothing', () => {
    const before = process.memoryUsage().arrayBuffers;
    refused(archive(tensorPickle('0', 2 ** 40, [2 ** 20, 2 ** 20], [2 ** 20, 1]), { 0: new Uint8Array(16) }), /has 16 bytes, the pickle declares 4398046511104/);
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 2 ** 20);
  });

  it('zip entries pointing outside the archive or overlapping', () => {
    const good = readFileSync(join(VECTORS, 'weights.pth'));
    const cdAt = good.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    // last central-directory entry → a local header offset past the end
    const far = Buffer.from(good);
    far.writeUInt32LE(good.length + 1000, cdAt + 42);
    const p1 = fresh('.pth');
    writeFileSync(p1, far);
    refused(p1, /points outside the archive/);
    // … → the offset of the first entry: two entries over the same bytes
    const dup = Buffer.from(good);
    dup.writeUInt32LE(0, cdAt + 42);
    const p2 = fresh('.pth');
    writeFileSync(p2, dup);
    refused(p2, /overlap|run|CRC|no local header/);
    // a stored entry whose size runs into the central directory
    const big = Buffer.from(good);
    const first = good.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    big.writeUInt32LE(good.length, first + 20);
    big.writeUInt32LE(good.length, first + 24);
    const p3 = fresh('.pth');
    writeFileSync(p3, big);
    refused(p3, /runs past the archive's data/);
  });

  it('a corrupted storage fails its CRC', () => {
    const bad = Buffer.from(readFileSync(join(VECTORS, 'weights.pth')));
    const at = bad.indexOf(Buffer.from('weights/data/0')) + 'weights/data/0'.length;
    bad[at + 200] ^= 0xff; // inside the data of entry 0 (after its local header and padding)
    const p = fresh('.pth');
    writeFileSync(p, bad);
    refused(p, /CRC mismatch/);
  });

  it('legacy and unknown formats', () => {
    const legacy = fresh('.pth');
    writeFileSync(legacy, Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]));
    refused(legacy, /legacy torch file/);
    const junk = fresh('.bin');
    writeFileSync(junk, 'hello, world');
    refused(junk, /not a model file/);
    refused(join(tmp, 'missing.pth'), /ENOENT/);
  });

  it('a state dict whose shapes do not match the config', () => {
    const ck = loadCheckpoint(join(VECTORS, 'weights.safetensors'));
    const sd = new PyDict(true), storages = new Map<string, () => Uint8Array>();
    ck.layout.specs.forEach((s, i) => {
      const shape = s.name.endsWith('h.1.mlp.c_fc.weight') ? [s.shape[1], s.shape[0]] : s.shape;
      const st = new StorageRef(String(i), 'F32', 'cpu', s.size);
      storages.set(st.key, () => new Uint8Array(ck.params.buffer, s.offset * 4, s.size * 4));
      sd.map.set(s.name, new TensorRef(st, 0, shape, shape.length === 2 ? [shape[1], 1] : [1]));
    });
    const p = fresh('.pth');
    writePth(p, new PyDict(false, [['model', sd]]), storages);
    refused(p, /tensor patch_level_decoder\.base\.h\.1\.mlp\.c_fc\.weight has shape \[256,64\], the model needs \[64,256\]/);
  });

  it('labels that do not fit the classifier', () => {
    const ck = loadCheckpoint(join(VECTORS, 'cls.pth'));
    const p = fresh('.pth');
    const sd = new PyDict(true), storages = new Map<string, () => Uint8Array>();
    ck.layout.specs.forEach((s, i) => {
      const st = new StorageRef(String(i), 'F32', 'cpu', s.size);
      storages.set(st.key, () => new Uint8Array(ck.params.buffer, s.offset * 4, s.size * 4));
      sd.map.set(s.name, new TensorRef(st, 0, s.shape, s.shape.length === 2 ? [s.shape[1], 1] : [1]));
    });
    writePth(p, new PyDict(false, [['model', sd], ['labels', new PyDict(false, [['a', 0], ['b', 1]])]]), storages);
    refused(p, /lists 2 labels but its classifier has 3 outputs/);
    writePth(p, new PyDict(false, [['model', sd], ['labels', new PyDict(false, [['a', 0], ['b', 0], ['c', 2]])]]), storages);
    refused(p, /distinct id/);
  });
});

describe('hostile safetensors', () => {
  const header = (h: object, dataLen: number, lie?: bigint) => {
    const json = Buffer.from(JSON.stringify(h));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(lie ?? BigInt(json.length));
    const p = fresh('.safetensors');
    writeFileSync(p, Buffer.concat([len, json, Buffer.alloc(dataLen)]));
    return p;
  };
  const t = (begin: number, end: number, shape = [(end - begin) / 4], dtype = 'F32') => ({ dtype, shape, data_offsets: [begin, end] });

  it('a header length larger than the file, or cutting the JSON short', () => {
    refused(header({ a: t(0, 16) }, 16, 10n ** 12n), /header length .* does not fit/);
    refused(header({ a: t(0, 16) }, 16, 2n ** 64n - 1n), /header length .* does not fit/);
    refused(header({ a: t(0, 16) }, 16, 10n), /header is not JSON/);
  });

  it('overlapping offsets, holes, and data past the end', () => {
    refused(header({ a: t(0, 16), b: t(8, 24) }, 24), /overlap/);
    refused(header({ a: t(0, 16), b: t(16, 32) }, 40), /data region has 40 bytes but the tensors cover 32/);
    refused(header({ a: t(0, 8), b: t(16, 24) }, 24), /belong to no tensor/);
    refused(header({ a: t(0, 64) }, 16), /run past the end of the file/);
  });

  it('sizes that do not match shape × dtype, unknown dtypes, huge shapes', () => {
    refused(header({ a: t(0, 16, [3]) }, 16), /16 bytes for shape \[3\] F32 \(needs 12\)/);
    refused(header({ a: t(0, 16, [4], 'F8') }, 16), /unknown dtype/);
    const before = process.memoryUsage().arrayBuffers;
    refused(header({ a: t(0, 16, [2 ** 26, 2 ** 26]) }, 16), /needs 18014398509481984/);
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 2 ** 20);
    refused(header({ __metadata__: { a: 1 }, x: t(0, 4) }, 4), /__metadata__ must map strings to strings/);
  });

  it('the header alone is validated the same way', () => {
    assert.throws(() => readSafetensorsHeader(header({ a: t(0, 16), b: t(8, 24) }, 24)), /overlap/);
  });

  it('a checkpoint whose metadata config does not match its tensors', () => {
    const ck = loadCheckpoint(join(VECTORS, 'weights.safetensors'));
    const p = fresh('.safetensors');
    saveCheckpoint(p, ck);
    const whole = readFileSync(p);
    const hlen = Number(whole.readBigUInt64LE(0));
    const h = JSON.parse(whole.subarray(8, 8 + hlen).toString());
    const rewrite = (md: Record<string, string>) => {
      const json = Buffer.from(JSON.stringify({ ...h, __metadata__: { ...h.__metadata__, ...md } }));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(json.length));
      writeFileSync(p, Buffer.concat([len, json, whole.subarray(8 + hlen)]));
    };
    rewrite({ [META.config]: JSON.stringify({ ...ck.config, hidden: 128, heads: 2 }) });
    refused(p, /has shape .* the model needs/);
    rewrite({ [META.config]: JSON.stringify({ ...ck.config, heads: 3 }) });
    refused(p, /hidden size 64 is not a multiple of heads 3/);
    rewrite({ [META.config]: '{"patchSize":' });
    refused(p, /bgpt\.config is not valid JSON/);
    rewrite({ [META.task]: JSON.stringify({ kind: 'classification', labels: ['a'] }) });
    refused(p, /missing tensor classifier\.weight/);
    rewrite({ [META.task]: JSON.stringify({ kind: 'regression' }) });
    refused(p, /bgpt\.task must be/);
    rewrite({ [META.checkpoint]: '99' });
    refused(p, /checkpoint format 99 is not supported/);
    assert.throws(() => readModelWeights(p), (e: Error) => !e.message.includes('\n') && e.message.startsWith(p));
  });
});

describe('the unpickler on its own', () => {
  const v3 = (dtype: string) => Buffer.from(
    '\x80\x02ctorch._utils\n_rebuild_tensor_v3\n((' + binunicode('storage') + 'ctorch\nFloatStorage\n' + binunicode('0') + binunicode('cpu') +
    'K\x04tQK\x00K\x04\x85K\x01\x85\x89ccollections\nOrderedDict\n)R' + `ctorch\n${dtype}\n` + 'tR.', 'latin1');

  it('_rebuild_tensor_v3 (torch 2.x) with its storage\'s dtype', () => {
    const t = unpickle(v3('float32'));
    assert.ok(t instanceof TensorRef);
    assert.deepEqual([t.shape, t.stride, t.storage.dtype, t.storage.numel], [[4], [1], 'F32', 4]);
    assert.throws(() => unpickle(v3('float16')), /dtype other than its storage/);
    assert.throws(() => unpickle(v3('complex64')), /refers to torch\.complex64/);
  });

  it('a self-referencing list neither loops nor grows', () => {
    const r = unpickle(Buffer.from('\x80\x02]q\x00h\x00a.', 'latin1')) as unknown[];
    assert.equal(r.length, 1);
    assert.equal(r[0], r);
  });
});

describe('memory stays bounded by what the file holds', () => {
  it('tensors that all view one small storage are refused before anything is allocated', () => {
    // a "model" with 2000 patch layers whose every tensor is a stride-0 view of a single float
    const sd = new PyDict(true);
    const one = new StorageRef('0', 'F32', 'cpu', 1);
    const view = (shape: number[]) => new TensorRef(one, 0, shape, shape.map(() => 0));
    const H = 64, S = 4;
    sd.map.set('patch_level_decoder.patch_embedding.weight', view([H, S * 257]));
    sd.map.set('patch_level_decoder.patch_embedding.bias', view([H]));
    for (const p of ['patch_level_decoder.base.', 'byte_level_decoder.base.transformer.']) {
      sd.map.set(`${p}wte.weight`, view([p.startsWith('patch') ? 1 : 257, H]));
      sd.map.set(`${p}wpe.weight`, view([p.startsWith('patch') ? 8 : S + 1, H]));
      const layers = p.startsWith('patch') ? 2000 : 1;
      for (let i = 0; i < layers; i++) {
        for (const [n, shape] of [['ln_1.weight', [H]], ['ln_1.bias', [H]], ['attn.c_attn.weight', [H, 3 * H]], ['attn.c_attn.bias', [3 * H]],
          ['attn.c_proj.weight', [H, H]], ['attn.c_proj.bias', [H]], ['ln_2.weight', [H]], ['ln_2.bias', [H]], ['mlp.c_fc.weight', [H, 4 * H]],
          ['mlp.c_fc.bias', [4 * H]], ['mlp.c_proj.weight', [4 * H, H]], ['mlp.c_proj.bias', [H]]] as [string, number[]][]) sd.map.set(`${p}h.${i}.${n}`, view(shape));
      }
      sd.map.set(`${p}ln_f.weight`, view([H]));
      sd.map.set(`${p}ln_f.bias`, view([H]));
    }
    const p = fresh('.pth');
    writePth(p, new PyDict(false, [['model', sd]]), new Map([['0', () => new Uint8Array(4)]]));
    const before = process.memoryUsage().arrayBuffers;
    refused(p, /their storages only 1 \(overlapping views; refused\)/);
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 2 ** 20);
  });

  it('a pickle with millions of opcodes stops at the cap', () => {
    const pkl = Buffer.concat([Buffer.from([0x80, 2, 0x5d]), Buffer.alloc(5_000_000, 0x4e), Buffer.from('.')]);
    refused(archive(pkl), /more than 4000000 opcodes/);
  });
});
