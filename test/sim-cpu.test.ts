/** The toy CPU (docs/format.md §7): every opcode and operand form against hand-computed states. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countCycles, initialRecord, simulate } from '../src/sim/cpu.js';
import { DEFAULT_CONFIG, OP, operandCount, type CpuConfig } from '../src/sim/isa.js';

const cfg = DEFAULT_CONFIG;
const REC = 16;
// ACC, then A..J: E = 1000_0001b, F = 255, H = 0101_0101b, D = 0
const ACC0 = 100;
const REGS0 = [10, 3, 250, 0, 129, 255, 1, 85, 64, 9];
const R = Object.fromEntries('ABCDEFGHIJ'.split('').map((c, i) => [c, i + 1])) as Record<string, number>;

/** Runs `op a1 a2 a3; HLT` from ACC0/REGS0 and returns the three records after the initial one's. */
function runOne(op: number, a1 = 0, a2 = 0, a3 = 0, acc = ACC0, regs = REGS0) {
  const memory = new Uint8Array(cfg.memory);
  memory.set([op, a1, a2, a3], 0);
  const out = simulate(memory, initialRecord(cfg, acc, regs), cfg);
  assert.equal(out.length, 2 * REC, 'one instruction and HLT: two records');
  return { fetched: Array.from(out.subarray(0, REC)), after: Array.from(out.subarray(REC)) };
}

/** The expected HLT record: PC 2, IR 0 0 0 0, ACC and registers as given (changes on top of the initial state). */
function expectAfter(op: number, a1: number, a2: number, a3: number, change: { acc?: number } & Record<string, number>, acc = ACC0, regs = REGS0) {
  const r = runOne(op, a1, a2, a3, acc, regs);
  // the record after the fetch of the instruction: PC 1, the initial ACC and registers, the instruction in IR
  assert.deepEqual(r.fetched, [1, acc, op, a1, a2, a3, ...regs]);
  const want = [2, change.acc ?? acc, 0, 0, 0, 0, ...regs];
  for (const [k, v] of Object.entries(change)) if (k !== 'acc') want[5 + R[k]] = v;
  assert.deepEqual(r.after, want, `${op} ${a1} ${a2} ${a3}`);
}

describe('cpu: one-operand-or-none instructions (ACC when a1 = 0, else X)', () => {
  it('CLR', () => {
    expectAfter(OP.CLR, 0, 0, 0, { acc: 0 });
    expectAfter(OP.CLR, R.A, 0, 0, { A: 0 });
  });
  it('INC saturates at 255', () => {
    expectAfter(OP.INC, 0, 0, 0, { acc: 101 });
    expectAfter(OP.INC, R.A, 0, 0, { A: 11 });
    expectAfter(OP.INC, R.F, 0, 0, { F: 255 });
    expectAfter(OP.INC, 0, 0, 0, { acc: 255 }, 255);
  });
  it('DEC saturates at 0', () => {
    expectAfter(OP.DEC, 0, 0, 0, { acc: 99 });
    expectAfter(OP.DEC, R.B, 0, 0, { B: 2 });
    expectAfter(OP.DEC, R.D, 0, 0, { D: 0 });
    expectAfter(OP.DEC, 0, 0, 0, { acc: 0 }, 0);
  });
  it('SHL drops the high bit, SHR shifts in 0', () => {
    expectAfter(OP.SHL, 0, 0, 0, { acc: 200 });
    expectAfter(OP.SHL, R.E, 0, 0, { E: 2 }); // 1000_0001 → 0000_0010
    expectAfter(OP.SHL, R.C, 0, 0, { C: 244 }); // 500 & 255
    expectAfter(OP.SHR, 0, 0, 0, { acc: 50 });
    expectAfter(OP.SHR, R.E, 0, 0, { E: 64 });
    expectAfter(OP.SHR, R.G, 0, 0, { G: 0 });
  });
  it('ROL and ROR rotate the 8 bits', () => {
    expectAfter(OP.ROL, 0, 0, 0, { acc: 200 }); // 0110_0100 → 1100_1000
    expectAfter(OP.ROL, R.E, 0, 0, { E: 3 }); // 1000_0001 → 0000_0011
    expectAfter(OP.ROL, R.C, 0, 0, { C: 245 }); // 1111_1010 → 1111_0101
    expectAfter(OP.ROR, 0, 0, 0, { acc: 50 }); // 0110_0100 → 0011_0010
    expectAfter(OP.ROR, R.E, 0, 0, { E: 192 }); // 1000_0001 → 1100_0000
    expectAfter(OP.ROR, R.G, 0, 0, { G: 128 });
  });
  it('NOT', () => {
    expectAfter(OP.NOT, 0, 0, 0, { acc: 155 });
    expectAfter(OP.NOT, R.H, 0, 0, { H: 170 });
    expectAfter(OP.NOT, R.F, 0, 0, { F: 0 });
  });
});

describe('cpu: PUSH, POP, LOADI, SWAP, MOV', () => {
  it('PUSH X: ACC = X; POP X: X = ACC', () => {
    expectAfter(OP.PUSH, R.B, 0, 0, { acc: 3 });
    expectAfter(OP.POP, R.A, 0, 0, { A: 100 });
  });
  it('LOADI n: ACC = n', () => {
    expectAfter(OP.LOADI, 0, 0, 0, { acc: 0 });
    expectAfter(OP.LOADI, 255, 0, 0, { acc: 255 });
    expectAfter(OP.LOADI, 7, 0, 0, { acc: 7 });
  });
  it('SWAP X swaps with ACC, SWAP X Y swaps two registers', () => {
    expectAfter(OP.SWAP, R.C, 0, 0, { acc: 250, C: 100 });
    expectAfter(OP.SWAP, R.A, R.B, 0, { A: 3, B: 10 });
    expectAfter(OP.SWAP, R.J, R.A, 0, { A: 9, J: 10 });
    expectAfter(OP.SWAP, R.A, R.A, 0, {});
  });
  it('MOV X Y: X = Y', () => {
    expectAfter(OP.MOV, R.A, R.C, 0, { A: 250 });
    expectAfter(OP.MOV, R.J, R.D, 0, { J: 0 });
  });
});

describe('cpu: ADD..XOR in their three forms', () => {
  it('ADD saturates at 255', () => {
    expectAfter(OP.ADD, R.A, 0, 0, { acc: 110 });
    expectAfter(OP.ADD, R.C, 0, 0, { acc: 255 }); // 350
    expectAfter(OP.ADD, R.A, R.B, 0, { A: 13 });
    expectAfter(OP.ADD, R.C, R.A, 0, { C: 255 }); // 260
    expectAfter(OP.ADD, R.A, R.B, R.C, { C: 13 });
    expectAfter(OP.ADD, R.C, R.C, R.J, { J: 255 });
  });
  it('SUB saturates at 0', () => {
    expectAfter(OP.SUB, R.A, 0, 0, { acc: 90 });
    expectAfter(OP.SUB, R.C, 0, 0, { acc: 0 });
    expectAfter(OP.SUB, R.A, R.B, 0, { A: 7 });
    expectAfter(OP.SUB, R.B, R.A, 0, { B: 0 });
    expectAfter(OP.SUB, R.A, R.B, R.J, { J: 7 });
    expectAfter(OP.SUB, R.B, R.C, R.D, { D: 0 });
  });
  it('MUL saturates at 255', () => {
    expectAfter(OP.MUL, R.B, 0, 0, { acc: 255 }); // 300
    expectAfter(OP.MUL, R.G, 0, 0, { acc: 100 });
    expectAfter(OP.MUL, R.A, R.B, 0, { A: 30 });
    expectAfter(OP.MUL, R.C, R.B, 0, { C: 255 });
    expectAfter(OP.MUL, R.A, R.B, R.J, { J: 30 });
    expectAfter(OP.MUL, R.D, R.C, R.E, { E: 0 });
  });
  it('DIV is integer division; a divisor 0 gives 255', () => {
    expectAfter(OP.DIV, R.B, 0, 0, { acc: 33 });
    expectAfter(OP.DIV, R.D, 0, 0, { acc: 255 });
    expectAfter(OP.DIV, R.D, 0, 0, { acc: 255 }, 0); // 0 / 0 too
    expectAfter(OP.DIV, R.A, R.B, 0, { A: 3 });
    expectAfter(OP.DIV, R.A, R.D, 0, { A: 255 });
    expectAfter(OP.DIV, R.C, R.B, R.J, { J: 83 });
    expectAfter(OP.DIV, R.C, R.D, R.J, { J: 255 });
    expectAfter(OP.DIV, R.D, R.A, R.J, { J: 0 });
  });
  it('AND, OR, XOR', () => {
    expectAfter(OP.AND, R.A, 0, 0, { acc: 0 }); // 0110_0100 & 0000_1010
    expectAfter(OP.AND, R.H, 0, 0, { acc: 68 }); // & 0101_0101
    expectAfter(OP.AND, R.C, R.E, 0, { C: 128 });
    expectAfter(OP.AND, R.C, R.H, R.J, { J: 80 });
    expectAfter(OP.OR, R.A, 0, 0, { acc: 110 });
    expectAfter(OP.OR, R.E, R.H, 0, { E: 213 });
    expectAfter(OP.OR, R.B, R.A, R.J, { J: 11 });
    expectAfter(OP.XOR, R.H, 0, 0, { acc: 49 });
    expectAfter(OP.XOR, R.C, R.C, 0, { C: 0 });
    expectAfter(OP.XOR, R.E, R.F, R.J, { J: 126 });
  });
});

describe('cpu: cycles and records', () => {
  it('a whole program, record by record', () => {
    // LOADI 7; POP A; ADD A B C; DIV A D; SWAP B; HLT — from ACC 1, B 3, others 0
    const memory = new Uint8Array(cfg.memory);
    memory.set([11, 7, 0, 0, 10, 1, 0, 0, 13, 1, 2, 3, 16, 1, 4, 0, 12, 2, 0, 0]);
    const regs = [0, 3, 0, 0, 0, 0, 0, 0, 0, 0];
    const out = simulate(memory, initialRecord(cfg, 1, regs), cfg);
    const rows = Array.from({ length: out.length / REC }, (_, k) => Array.from(out.subarray(k * REC, (k + 1) * REC)));
    assert.deepEqual(rows, [
      [1, 1, 11, 7, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0], // fetched LOADI 7
      [2, 7, 10, 1, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0], // ACC = 7; fetched POP A
      [3, 7, 13, 1, 2, 3, 7, 3, 0, 0, 0, 0, 0, 0, 0, 0], // A = 7; fetched ADD A B C
      [4, 7, 16, 1, 4, 0, 7, 3, 10, 0, 0, 0, 0, 0, 0, 0], // C = 10; fetched DIV A D
      [5, 7, 12, 2, 0, 0, 255, 3, 10, 0, 0, 0, 0, 0, 0, 0], // A = 7 / 0 = 255; fetched SWAP B
      [6, 3, 0, 0, 0, 0, 255, 7, 10, 0, 0, 0, 0, 0, 0, 0], // ACC ↔ B; fetched HLT: last record
    ]);
  });

  it('PC is clamped at the last word', () => {
    const small: CpuConfig = { registers: 2, memory: 8 };
    // INC A; HLT in the last of two words: the HLT's record has PC min(2, 1) = 1
    const out = simulate(new Uint8Array([2, 1, 0, 0, 0, 0, 0, 0]), initialRecord(small, 5, [9, 4]), small);
    assert.deepEqual(Array.from(out), [1, 5, 2, 1, 0, 0, 9, 4, /* */ 1, 5, 0, 0, 0, 0, 10, 4]);
    // one word of memory: PC stays 0
    const one: CpuConfig = { registers: 1, memory: 4 };
    assert.deepEqual(Array.from(simulate(new Uint8Array(4), initialRecord(one, 3, [4]), one)), [0, 3, 0, 0, 0, 0, 4]);
    // the full 1 KiB: 255 INCs then HLT at word 255; PC goes 1..255 and stays 255
    const memory = new Uint8Array(1024);
    for (let w = 0; w < 255; w++) memory.set([2, 0, 0, 0], 4 * w);
    const full = simulate(memory, initialRecord(cfg, 0, REGS0), cfg);
    assert.equal(full.length, 256 * REC);
    assert.equal(full[254 * REC], 255, 'fetching word 254 sets PC 255');
    assert.equal(full[255 * REC], 255, 'fetching the last word keeps PC 255');
    assert.equal(full[255 * REC + 1], 255, 'ACC saturated after 255 INCs');
  });

  it('starts at the first record\'s PC and ignores its IR', () => {
    const memory = new Uint8Array(cfg.memory);
    memory.set([2, 0, 0, 0, 3, 0, 0, 0]); // INC; DEC; HLT
    const first = initialRecord(cfg, 10, REGS0);
    first[0] = 1;
    first.set([9, 9, 9, 9], 2);
    const out = simulate(memory, first, cfg);
    assert.equal(out.length, 2 * REC);
    assert.deepEqual(Array.from(out.subarray(0, 6)), [2, 10, 3, 0, 0, 0]);
    assert.deepEqual(Array.from(out.subarray(REC, REC + 6)), [3, 9, 0, 0, 0, 0]);
  });

  it('invalid instructions are errors naming the word', () => {
    const run = (words: number[], c = cfg) => {
      const memory = new Uint8Array(c.memory);
      memory.set(words);
      return () => simulate(memory, initialRecord(c, 0, new Uint8Array(c.registers)), c);
    };
    assert.throws(run([2, 0, 0, 0, 21, 0, 0, 0]), /word 1: invalid opcode 21 \(21 0 0 0\)/);
    assert.throws(run([255, 1, 2, 3]), /word 0: invalid opcode 255/);
    assert.throws(run([13, 11, 0, 0]), /word 0: invalid operands for ADD/, 'register K on a 10-register CPU');
    assert.throws(run([1, 0, 2, 0]), /invalid operands for CLR/, 'an operand after a 0');
    assert.throws(run([1, 1, 2, 0]), /invalid operands for CLR/, 'two operands');
    assert.throws(run([9, 0, 0, 0]), /invalid operands for PUSH/, 'PUSH needs a register');
    assert.throws(run([20, 1, 0, 0]), /invalid operands for MOV/);
    assert.throws(run([0, 1, 0, 0]), /invalid operands for HLT/);
    assert.throws(run([11, 7, 1, 0]), /invalid operands for LOADI/);
    // words after the HLT are never executed, so they may hold anything
    assert.doesNotThrow(run([0, 0, 0, 0, 99, 99, 99, 99]));
  });

  it('a program without HLT before the last word never halts: an error', () => {
    const c: CpuConfig = { registers: 2, memory: 8 };
    assert.throws(() => simulate(new Uint8Array([2, 0, 0, 0, 2, 0, 0, 0]), initialRecord(c, 0, [0, 0]), c), /never halts/);
    const first = initialRecord(c, 0, [0, 0]);
    first[0] = 2;
    assert.throws(() => simulate(new Uint8Array(8), first, c), /PC 2 is past the last instruction word \(1\)/);
  });

  it('countCycles and operandCount', () => {
    const memory = new Uint8Array(16);
    memory.set([2, 0, 0, 0, 11, 0, 0, 0]);
    assert.equal(countCycles(memory, 0, { registers: 1, memory: 16 }), 3);
    assert.equal(countCycles(memory, 2, { registers: 1, memory: 16 }), 1);
    assert.equal(operandCount(OP.ADD, 1, 2, 3, 3), 3);
    assert.equal(operandCount(OP.ADD, 1, 2, 4, 3), -1);
    assert.equal(operandCount(OP.ADD, 0, 0, 0, 3), -1);
    assert.equal(operandCount(OP.SWAP, 1, 2, 3, 3), -1);
    assert.equal(operandCount(OP.LOADI, 0, 0, 0, 3), 1);
    assert.equal(operandCount(OP.INC, 0, 0, 0, 3), 0);
    assert.equal(operandCount(21, 0, 0, 0, 3), -1);
  });
});
