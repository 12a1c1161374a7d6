/** The CPU's assembler and disassembler, and the program text whose MD5 names a dataset file. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assemble, assembleLine, disassemble, disassembleProgram, programMd5, programText } from '../src/sim/asm.js';
import { DEFAULT_CONFIG, FORMS, OP, type CpuConfig } from '../src/sim/isa.js';
import { randomProgram } from '../src/sim/program.js';
import { Rng } from '../src/util/rng.js';

const cfg = DEFAULT_CONFIG;

/** Every valid instruction word of an R-register CPU. */
function* validWords(registers: number): Generator<[number, number, number, number]> {
  for (let op = 0; op < FORMS.length; op++) {
    if (op === OP.LOADI) {
      for (let n = 0; n < 256; n++) yield [op, n, 0, 0];
      continue;
    }
    for (const k of FORMS[op]) {
      const regs = Array.from({ length: registers }, (_, i) => i + 1);
      const a1s = k >= 1 ? regs : [0], a2s = k >= 2 ? regs : [0], a3s = k >= 3 ? regs : [0];
      for (const a of a1s) for (const b of a2s) for (const c of a3s) yield [op, a, b, c];
    }
  }
}

describe('disassembler', () => {
  it('writes each operand form as the published simulator does', () => {
    assert.equal(disassemble(0, 0, 0, 0, 10), 'HLT');
    assert.equal(disassemble(2, 0, 0, 0, 10), 'INC');
    assert.equal(disassemble(2, 1, 0, 0, 10), 'INC A');
    assert.equal(disassemble(9, 10, 0, 0, 10), 'PUSH J');
    assert.equal(disassemble(11, 0, 0, 0, 10), 'LOADI 0');
    assert.equal(disassemble(11, 255, 0, 0, 10), 'LOADI 255');
    assert.equal(disassemble(12, 3, 0, 0, 10), 'SWAP C');
    assert.equal(disassemble(12, 1, 2, 0, 10), 'SWAP A B');
    assert.equal(disassemble(13, 1, 0, 0, 10), 'ADD A');
    assert.equal(disassemble(14, 1, 2, 0, 10), 'SUB A B');
    assert.equal(disassemble(19, 1, 2, 3, 10), 'XOR A B C');
    assert.equal(disassemble(20, 10, 1, 0, 10), 'MOV J A');
  });

  it('writes words that are not instructions as .byte', () => {
    assert.equal(disassemble(21, 0, 0, 0, 10), '.byte 21 0 0 0');
    assert.equal(disassemble(13, 11, 0, 0, 10), '.byte 13 11 0 0');
    assert.equal(disassemble(13, 3, 0, 0, 2), '.byte 13 3 0 0');
    assert.equal(disassemble(0, 0, 0, 1, 10), '.byte 0 0 0 1');
  });

  it('lists the program up to the first HLT', () => {
    const memory = new Uint8Array(cfg.memory);
    memory.set([11, 7, 0, 0, 13, 1, 2, 3, 0, 0, 0, 0, 2, 0, 0, 0]);
    assert.deepEqual(disassembleProgram(memory, cfg), ['LOADI 7', 'ADD A B C', 'HLT']);
    const c: CpuConfig = { registers: 1, memory: 8 };
    assert.deepEqual(disassembleProgram(new Uint8Array([2, 1, 0, 0, 2, 0, 0, 0]), c), ['INC A', 'INC'], 'no HLT: every word');
  });
});

describe('assembler', () => {
  it('every valid word round-trips through its text, and texts are distinct', () => {
    for (const r of [1, 3, 10]) {
      const texts = new Set<string>();
      let n = 0;
      for (const w of validWords(r)) {
        const t = disassemble(...w, r);
        assert.ok(!t.startsWith('.byte'), t);
        assert.deepEqual(assembleLine(t, r), w, t);
        texts.add(t);
        n++;
      }
      assert.equal(texts.size, n, `${r} registers: one text per word`);
    }
  });

  it('any 4 bytes round-trip (invalid ones through .byte)', () => {
    const rng = new Rng(7);
    for (let i = 0; i < 20000; i++) {
      const w: [number, number, number, number] = [rng.int(24), rng.int(4) === 0 ? 0 : rng.int(12), rng.int(2) ? 0 : rng.int(12), rng.int(2) ? 0 : rng.int(256)];
      assert.deepEqual(assembleLine(disassemble(...w, 10), 10), w);
    }
  });

  it('random programs round-trip through their listing', () => {
    const rng = new Rng(3);
    for (let i = 0; i < 200; i++) {
      const memory = new Uint8Array(cfg.memory);
      randomProgram(rng, 1 + rng.int(256), 10, memory);
      const lines = disassembleProgram(memory, cfg);
      assert.deepEqual(assemble(lines.join('\n'), cfg), memory);
    }
  });

  it('accepts any case, commas, comments, blank lines and hex immediates', () => {
    const src = '; a comment\n\n  loadi 0x10   # sixteen\nadd a, b ,c\n\tSwap j\nhlt\n';
    const m = assemble(src, cfg);
    assert.deepEqual(Array.from(m.subarray(0, 20)), [11, 16, 0, 0, 13, 1, 2, 3, 12, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(m.length, 1024);
  });

  it('errors name the source and line', () => {
    const bad = (src: string, re: RegExp, c = cfg) => assert.throws(() => assemble(src, c, 'p.asm'), re);
    bad('INC\nFOO A', /^Error: p\.asm:2: unknown instruction 'FOO'$/);
    bad('ADD', /p\.asm:1: ADD takes 1, 2 or 3 operands, got 0/);
    bad('MOV A', /p\.asm:1: MOV takes 2 operands, got 1/);
    bad('PUSH A B', /p\.asm:1: PUSH takes 1 operand, got 2/);
    bad('HLT A', /p\.asm:1: HLT takes 0 operands, got 1/);
    bad('INC K', /p\.asm:1: 'K' is not a register \(A\.\.J\)/);
    bad('INC C', /'C' is not a register \(A\.\.B\)/, { registers: 2, memory: 16 });
    bad('INC AB', /'AB' is not a register/);
    bad('LOADI 256', /LOADI immediate must be a number 0\.\.255, got '256'/);
    bad('LOADI A', /LOADI immediate must be a number/);
    bad('.byte 1 2 3', /\.byte needs 4 bytes, got 3/);
    bad('INC\nINC\nINC', /p\.asm:3: the program does not fit in 8 bytes of memory \(2 words\)/, { registers: 1, memory: 8 });
    bad('; nothing\n', /p\.asm: no instructions/);
  });
});

describe('program text and MD5', () => {
  it('the text is the lines concatenated, as the published generator hashes it', () => {
    assert.equal(programText(['LOADI 7', 'ADD A B C', 'HLT']), 'LOADI 7ADD A B CHLT');
    // md5 values computed with Python's hashlib
    assert.equal(programMd5(['LOADI 7', 'ADD A B C', 'HLT']), '72fc84bfd17941ca2459d6f6343e7b50');
    assert.equal(programMd5(['HLT']), '29fb9b237d6afacd8d086a8739433cd0');
  });
});
