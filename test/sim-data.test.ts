/** CPU states files: layout, dataset generation (MD5 names, duplicates, reproducibility), evaluate, translate. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { assemble, disassembleProgram, programMd5 } from '../src/sim/asm.js';
import { initialRecord, simulate } from '../src/sim/cpu.js';
import { evaluateStates, simulationPredictor, type Predictor } from '../src/sim/evaluate.js';
import { generateDataset, type GenerateOptions } from '../src/sim/generate.js';
import { DEFAULT_CONFIG, operandCount, type CpuConfig } from '../src/sim/isa.js';
import { parseOpWeights, randomProgram } from '../src/sim/program.js';
import { readStates, runStates, splitStates } from '../src/sim/states.js';
import { formatStates, viewStates } from '../src/sim/translate.js';
import { Rng } from '../src/util/rng.js';

const cfg = DEFAULT_CONFIG;
const REC = 16;
const tmp = mkdtempSync(join(tmpdir(), 'bgpt-sim-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(tmp, `d${dirs++}`);

function gen(o: Partial<GenerateOptions> = {}) {
  const out = freshDir();
  const r = generateDataset({ ...cfg, out, train: 60, test: 20, minProgram: 1, maxProgram: 40, seed: 5, ...o });
  return { out, r };
}

const files = (d: string) => readdirSync(d).sort();

describe('states file layout', () => {
  it('memory, the initial record, then one record per executed instruction', () => {
    const memory = assemble('LOADI 9\nINC\nHLT', cfg);
    const first = initialRecord(cfg, 4, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const f = runStates(memory, first, cfg);
    assert.equal(f.length, 1024 + 4 * REC);
    assert.deepEqual(f.subarray(0, 1024), memory);
    assert.deepEqual(Array.from(f.subarray(1024, 1024 + REC)), [0, 4, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const rec = (k: number) => Array.from(f.subarray(1024 + k * REC, 1024 + k * REC + 6));
    assert.deepEqual(rec(1), [1, 4, 11, 9, 0, 0]);
    assert.deepEqual(rec(2), [2, 9, 2, 0, 0, 0]);
    assert.deepEqual(rec(3), [3, 10, 0, 0, 0, 0], 'the HLT record is last');
    const p = splitStates(f, cfg);
    assert.deepEqual(p.first, first);
    assert.equal(p.rest.length, 3 * REC);
    assert.throws(() => splitStates(f.subarray(0, 1030), cfg), /1030 bytes, too short for 1024 bytes of memory and a 16-byte state record/);
  });

  it('other machine sizes: records are 6 + R bytes', () => {
    const c: CpuConfig = { registers: 3, memory: 64 };
    const f = runStates(assemble('INC C\nHLT', c), initialRecord(c, 0, [0, 0, 7]), c);
    assert.equal(f.length, 64 + 3 * 9);
    assert.deepEqual(Array.from(f.subarray(64 + 18)), [2, 0, 0, 0, 0, 0, 0, 0, 8]);
  });
});

describe('generate', () => {
  it('writes train/ and test/ files named by the MD5 of their program text', () => {
    const { out, r } = gen();
    assert.equal(r.train, 60);
    assert.equal(r.test, 20);
    const train = files(join(out, 'train')), test = files(join(out, 'test'));
    assert.equal(train.length, 60);
    assert.equal(test.length, 20);
    assert.ok(!test.some((n) => train.includes(n)), 'no test program is a training program');
    const lengths = new Set<number>();
    for (const [split, names] of [['train', train], ['test', test]] as const) {
      for (const name of names) {
        const bytes = new Uint8Array(readFileSync(join(out, split, name)));
        const { memory, first, rest } = splitStates(bytes, cfg);
        const prog = disassembleProgram(memory, cfg);
        assert.equal(name, `${programMd5(prog)}.bin`);
        assert.equal(prog[prog.length - 1], 'HLT');
        assert.ok(prog.length >= 1 && prog.length <= 40);
        lengths.add(prog.length);
        assert.ok(memory.subarray(4 * prog.length).every((b) => b === 0), 'zeros after the program');
        assert.equal(first[0], 0, 'PC 0');
        assert.deepEqual(Array.from(first.subarray(2, 6)), [0, 0, 0, 0], 'IR 0 0 0 0');
        assert.equal(bytes.length, 1024 + REC * (prog.length + 1));
        assert.deepEqual(rest, simulate(memory, first, cfg));
      }
    }
    assert.ok(lengths.size > 10, 'lengths vary');
  });

  it('random initial ACC and registers in 0..255', () => {
    const { out } = gen();
    const accs = new Set<number>(), regs = new Set<number>();
    for (const name of files(join(out, 'train'))) {
      const { first } = splitStates(new Uint8Array(readFileSync(join(out, 'train', name))), cfg);
      accs.add(first[1]);
      first.subarray(6).forEach((v) => regs.add(v));
    }
    assert.ok(accs.size > 40, `${accs.size} distinct ACC values in 60 files`);
    assert.ok(regs.size > 200, `${regs.size} distinct register values in 600`);
  });

  it('random programs: every opcode CLR..MOV and every operand form, uniformly', () => {
    const rng = new Rng(11);
    const memory = new Uint8Array(1024);
    const ops = new Array(21).fill(0), forms = new Set<string>(), imms = new Set<number>();
    for (let i = 0; i < 400; i++) {
      randomProgram(rng, 256, 10, memory);
      for (let w = 0; w < 255; w++) {
        const [op, a, b, c] = memory.subarray(4 * w, 4 * w + 4);
        assert.notEqual(operandCount(op, a, b, c, 10), -1);
        ops[op]++;
        if (op === 11) imms.add(a);
        else forms.add(`${op}:${operandCount(op, a, b, c, 10)}`);
      }
      assert.deepEqual(Array.from(memory.subarray(1020)), [0, 0, 0, 0], 'HLT last');
    }
    assert.equal(ops[0], 0, 'no HLT before the end');
    const n = 400 * 255 / 20;
    for (let op = 1; op <= 20; op++) assert.ok(Math.abs(ops[op] - n) < 5 * Math.sqrt(n), `opcode ${op}: ${ops[op]} of ~${n}`);
    // 8 × {0,1} + PUSH, POP 1 + SWAP {1,2} + 7 × {1,2,3} + MOV 2 = 16 + 2 + 2 + 21 + 1
    assert.equal(forms.size, 42);
    assert.equal(imms.size, 256);
  });

  it('opcode weights: drawn in proportion, the uniform draw unchanged without them, bad lists refused', () => {
    const w = parseOpWeights('xor=4, ADD:2,CLR=0');
    const memory = new Uint8Array(1024), plain = new Uint8Array(1024), ops = new Array(21).fill(0);
    for (let i = 0; i < 200; i++) {
      randomProgram(new Rng(i), 256, 10, memory, w);
      for (let k = 0; k < 255; k++) ops[memory[4 * k]]++;
    }
    // weights 18 × 1 + XOR 4 + ADD 2 + CLR 0 = 24
    const n = 200 * 255 / 24;
    assert.equal(ops[1], 0, 'CLR weighs 0');
    for (const [op, k] of [[19, 4], [13, 2], [2, 1], [20, 1]]) assert.ok(Math.abs(ops[op] - k * n) < 5 * Math.sqrt(k * n), `opcode ${op}: ${ops[op]} of ~${k * n}`);
    randomProgram(new Rng(3), 64, 10, memory);
    randomProgram(new Rng(3), 64, 10, plain, undefined);
    assert.deepEqual(memory, plain);
    for (const bad of ['HLT=2', 'FOO=1', 'XOR', 'XOR=-1', 'CLR=0,INC=0,DEC=0,SHL=0,SHR=0,ROL=0,ROR=0,NOT=0,PUSH=0,POP=0,LOADI=0,SWAP=0,ADD=0,SUB=0,MUL=0,DIV=0,AND=0,OR=0,XOR=0,MOV=0']) {
      assert.throws(() => parseOpWeights(bad), /opcode weights/, bad);
    }
  });

  it('opcode weights apply to the training split only; the test split is drawn as published', () => {
    const a = gen({ train: 200, test: 200, minProgram: 8, maxProgram: 8, trainOpWeights: parseOpWeights('XOR=20') });
    const count = (split: string) => {
      let xor = 0, all = 0;
      for (const n of files(join(a.out, split))) {
        const b = readFileSync(join(a.out, split, n));
        for (let k = 0; k < 7; k++, all++) if (b[4 * k] === 19) xor++;
      }
      return xor / all;
    };
    assert.ok(count('train') > 0.4, `train XOR share ${count('train')}`); // 20 / 39
    assert.ok(count('test') < 0.1, `test XOR share ${count('test')}`); // 1 / 20
  });

  it('is reproducible from the seed', () => {
    const a = gen(), b = gen(), c = gen({ seed: 6 });
    for (const split of ['train', 'test']) {
      const na = files(join(a.out, split));
      assert.deepEqual(files(join(b.out, split)), na);
      for (const n of na) assert.deepEqual(readFileSync(join(b.out, split, n)), readFileSync(join(a.out, split, n)));
      assert.notDeepEqual(files(join(c.out, split)), na);
    }
  });

  it('draws duplicate programs again, so each split gets distinct programs', () => {
    // lengths 1..2: only one program of length 1 (HLT) exists, so most draws of length 1 are duplicates
    const { out, r } = gen({ train: 40, test: 10, minProgram: 1, maxProgram: 2 });
    assert.equal(files(join(out, 'train')).length, 40);
    assert.equal(files(join(out, 'test')).length, 10);
    assert.ok(r.duplicates.train > 0);
    assert.ok(!files(join(out, 'test')).includes(`${programMd5(['HLT'])}.bin`), 'HLT alone is in train, so never in test');
    assert.throws(() => gen({ train: 2, test: 0, minProgram: 1, maxProgram: 1 }), /10000 duplicate programs in a row after 1 files/);
  });

  it('checks its options and refuses a non-empty split', () => {
    const out = freshDir();
    mkdirSync(join(out, 'test'), { recursive: true });
    writeFileSync(join(out, 'test', 'x.bin'), 'x');
    assert.throws(() => generateDataset({ ...cfg, out, train: 1, test: 1, minProgram: 1, maxProgram: 5, seed: 0 }), /test: not empty/);
    assert.throws(() => gen({ maxProgram: 257 }), /1 ≤ min ≤ max ≤ 256/);
    assert.throws(() => gen({ minProgram: 5, maxProgram: 4 }), /min ≤ max/);
    assert.throws(() => gen({ registers: 27 }), /registers must be an integer in 1\.\.26/);
    assert.throws(() => gen({ memory: 1028 }), /memory must be a multiple of 4 in 4\.\.1024/);
    assert.throws(() => gen({ train: -1 }), /--train must be a whole number/);
  });
});

describe('evaluate', () => {
  const { out } = gen({ train: 0, test: 30, minProgram: 1, maxProgram: 60 });
  const test = join(out, 'test');
  const names = files(test);
  const totalBytes = names.reduce((a, n) => a + readFileSync(join(test, n)).length - 1024 - REC, 0);

  it('simulated files are 100 % right', async () => {
    const r = await evaluateStates([test], cfg);
    assert.equal(r.files, 30);
    assert.equal(r.total, totalBytes);
    assert.equal(r.matched, totalBytes);
    assert.equal(r.accuracy, 1);
    assert.equal(r.filesWithErrors, 0);
    assert.deepEqual(r.worst, []);
    for (const t of Object.values(r.byOpcode)) assert.equal(t.accuracy, 1);
    assert.equal(Object.values(r.byLength).reduce((a, l) => a + l.files, 0), 30);
    assert.equal(Object.values(r.byOpcode).reduce((a, t) => a + t.total, 0), totalBytes);
    assert.equal(r.byOpcode['(start)'].total, 30 * REC, 'one first-fetch record per file');
  });

  it('a corrupted file is < 100 %, counted byte by byte and listed first', async () => {
    const dir = freshDir();
    mkdirSync(dir);
    for (const n of names) writeFileSync(join(dir, n), readFileSync(join(test, n)));
    // the longest file: flip register B of its third record after the first
    const longest = names.reduce((a, n) => (readFileSync(join(test, n)).length > readFileSync(join(test, a)).length ? n : a));
    const bytes = readFileSync(join(dir, longest));
    const at = 1024 + 3 * REC + 7;
    const was = bytes[at];
    bytes[at] = was ^ 0x40;
    writeFileSync(join(dir, longest), bytes);
    // a truncated file: its last 5 bytes are missing
    const short = names.find((n) => n !== longest)!;
    const sb = readFileSync(join(dir, short));
    writeFileSync(join(dir, short), sb.subarray(0, sb.length - 5));
    const r = await evaluateStates([dir], { ...cfg, worst: 1 });
    assert.equal(r.total, totalBytes);
    assert.equal(r.matched, totalBytes - 6);
    assert.ok(r.accuracy < 1);
    assert.equal(r.filesWithErrors, 2);
    assert.equal(r.worst.length, 1);
    const w = r.worst[0];
    const shortTotal = sb.length - 1024 - REC, longTotal = bytes.length - 1024 - REC;
    const worstIsShort = 5 / shortTotal > 1 / longTotal;
    assert.equal(w.path, join(dir, worstIsShort ? short : longest));
    if (!worstIsShort) assert.deepEqual(w.firstMismatch, { record: 3, field: 'B', expected: was, got: was ^ 0x40 });
    else assert.equal(w.firstMismatch!.got, null, 'missing bytes');
    // the flipped byte counts for the instruction that produced record 3: the one in record 2's IR
    const op = ['HLT', 'CLR', 'INC', 'DEC', 'SHL', 'SHR', 'ROL', 'ROR', 'NOT', 'PUSH', 'POP', 'LOADI', 'SWAP', 'ADD', 'SUB', 'MUL', 'DIV', 'AND', 'OR', 'XOR', 'MOV'][bytes[1024 + 2 * REC + 2]];
    assert.ok(r.byOpcode[op].matched < r.byOpcode[op].total, op);
  });

  it('extra predicted bytes are reported but do not count', async () => {
    const dir = freshDir();
    mkdirSync(dir);
    writeFileSync(join(dir, 'a.bin'), Buffer.concat([readFileSync(join(test, names[0])), Buffer.alloc(7)]));
    const r = await evaluateStates([dir], cfg);
    assert.equal(r.accuracy, 1);
    assert.equal(r.extraBytes, 7);
  });

  it('per-opcode counts follow the instruction executed before each record', async () => {
    const dir = freshDir();
    mkdirSync(dir);
    const f = runStates(assemble('INC\nDEC\nHLT', cfg), initialRecord(cfg, 10, new Uint8Array(10)), cfg);
    f[1024 + 2 * REC + 1] = 0; // ACC in the record after INC ran: 11 → 0
    writeFileSync(join(dir, 'p.bin'), f);
    const r = await evaluateStates([dir], cfg);
    assert.deepEqual(Object.keys(r.byOpcode), ['INC', 'DEC', '(start)']);
    assert.deepEqual(r.byOpcode.INC, { matched: 15, total: 16, accuracy: 15 / 16 });
    assert.deepEqual(r.byOpcode.DEC, { matched: 16, total: 16, accuracy: 1 });
    assert.deepEqual(r.byLength, { 3: { matched: 47, total: 48, accuracy: 47 / 48, files: 1 } });
    assert.deepEqual(r.worst[0].firstMismatch, { record: 2, field: 'ACC', expected: 11, got: 0 });
  });

  it('takes a predictor: the simulator is 100 %, a corrupting one is not', async () => {
    const sim = await evaluateStates([test], { ...cfg, predict: simulationPredictor(cfg) });
    assert.equal(sim.accuracy, 1);
    // wrong PC in every record, and the last record missing
    const corrupt: Predictor = (memory, first) => {
      const p = simulate(memory, first, cfg).slice(0, -REC);
      for (let i = 0; i < p.length; i += REC) p[i] ^= 1;
      return p;
    };
    const r = await evaluateStates([test], { ...cfg, predict: corrupt });
    const records = totalBytes / REC;
    assert.equal(r.matched, totalBytes - (records - 30) - 30 * REC);
    // async predictors and the inputs they get: the file's memory and first record
    const seen: number[] = [];
    const asyncSim: Predictor = async (memory, first) => {
      seen.push(memory.length, first.length, first[0]);
      return simulate(memory, first, cfg);
    };
    const a = await evaluateStates([join(test, names[0])], { ...cfg, predict: asyncSim });
    assert.equal(a.accuracy, 1);
    assert.deepEqual(seen, [1024, REC, 0]);
  });

  it('errors name the file', async () => {
    const dir = freshDir();
    mkdirSync(dir);
    writeFileSync(join(dir, 'short.bin'), Buffer.alloc(100));
    await assert.rejects(evaluateStates([join(dir, 'short.bin')], cfg), /short\.bin: 100 bytes, too short/);
    const bad = Buffer.alloc(1024 + 2 * REC);
    bad[0] = 77;
    writeFileSync(join(dir, 'bad.bin'), bad);
    await assert.rejects(evaluateStates([join(dir, 'bad.bin')], cfg), /bad\.bin: word 0: invalid opcode 77/);
    await assert.rejects(evaluateStates([join(dir, 'none')], cfg), /none: no such file or folder/);
    mkdirSync(join(dir, 'empty'));
    await assert.rejects(evaluateStates([join(dir, 'empty')], cfg), /empty: no files found/);
    assert.throws(() => readStates(join(dir, 'nope.bin'), cfg), /nope\.bin: no such file/);
  });
});

describe('translate', () => {
  const f = runStates(assemble('LOADI 200\nADD A B C\nHLT', cfg), initialRecord(cfg, 1, [5, 6, 0, 0, 0, 0, 0, 0, 0, 99]), cfg);

  it('the program, then one row per state', () => {
    const text = formatStates(f, cfg);
    const lines = text.split('\n');
    assert.deepEqual(lines.slice(0, 5), ['program (3 instructions):', '  0  LOADI 200', '  1  ADD A B C', '  2  HLT', '']);
    assert.match(lines[5], /^step +PC +ACC +IR +A +B +C +D +E +F +G +H +I +J$/);
    assert.deepEqual(lines.slice(6, 10).map((l) => l.trim().split(/\s+/)), [
      ['0', '0', '1', 'HLT', '5', '6', '0', '0', '0', '0', '0', '0', '0', '99'],
      ['1', '1', '1', 'LOADI', '200', '5', '6', '0', '0', '0', '0', '0', '0', '0', '99'],
      ['2', '2', '200', 'ADD', 'A', 'B', 'C', '5', '6', '0', '0', '0', '0', '0', '0', '0', '99'],
      ['3', '3', '200', 'HLT', '5', '6', '11', '0', '0', '0', '0', '0', '0', '99'],
    ]);
    assert.equal(lines.length, 11);
  });

  it('as data, with bytes after the last whole record', () => {
    const v = viewStates(f.subarray(0, f.length - 3), cfg);
    assert.deepEqual(v.program, ['LOADI 200', 'ADD A B C', 'HLT']);
    assert.equal(v.states.length, 3);
    assert.deepEqual(v.states[2], { pc: 2, acc: 200, ir: [13, 1, 2, 3], instruction: 'ADD A B C', registers: [5, 6, 0, 0, 0, 0, 0, 0, 0, 99] });
    assert.equal(v.trailing.length, 13);
    assert.match(formatStates(f.subarray(0, f.length - 15), cfg), /\(1 byte after the last whole record: 3\)\n$/);
  });
});
