/**
 * Writes a value tree (pyvalue.ts) as a pickle, protocol 2, the way torch.save does: dicts, OrderedDicts,
 * lists, tuples, ints, floats, strings, booleans, None, and tensors as torch._utils._rebuild_tensor_v2 calls
 * on persistent storage ids. Only what torch.load(weights_only=True) accepts is emitted (no bytes objects).
 */
import type { DType } from '../dtypes.js';
import { STORAGE_DTYPES } from './unpickle.js';
import { PyDict, PyFloat, PyTuple, StorageRef, StorageType, TensorRef, type PyValue } from './pyvalue.js';

const STORAGE_CLASS: Record<string, string> = Object.fromEntries(Object.entries(STORAGE_DTYPES).map(([cls, dt]) => [dt, cls]));

export function storageClass(dtype: DType): string {
  const c = STORAGE_CLASS[dtype];
  if (!c) throw new Error(`no torch storage type for ${dtype}`);
  return c;
}

class Out {
  private chunks: Buffer[] = [];
  private cur = Buffer.alloc(1 << 16);
  private n = 0;

  byte(b: number): void {
    if (this.n === this.cur.length) this.flush();
    this.cur[this.n++] = b;
  }
  buf(b: Buffer): void {
    if (this.n + b.length > this.cur.length) this.flush();
    if (b.length > this.cur.length) this.chunks.push(b);
    else {
      b.copy(this.cur, this.n);
      this.n += b.length;
    }
  }
  private flush(): void {
    this.chunks.push(Buffer.from(this.cur.subarray(0, this.n)));
    this.n = 0;
  }
  done(): Buffer {
    this.flush();
    return Buffer.concat(this.chunks);
  }
}

export function pickle(root: PyValue): Buffer {
  const o = new Out();
  let memoNext = 0;
  const globals = new Map<string, number>();
  const put = (): void => {
    const i = memoNext++;
    if (i < 256) {
      o.byte(0x71);
      o.byte(i);
    } else {
      o.byte(0x72);
      const b = Buffer.alloc(4);
      b.writeUInt32LE(i);
      o.buf(b);
    }
  };
  const get = (i: number): void => {
    if (i < 256) {
      o.byte(0x68);
      o.byte(i);
    } else {
      o.byte(0x6a);
      const b = Buffer.alloc(4);
      b.writeUInt32LE(i);
      o.buf(b);
    }
  };
  const global = (module: string, name: string): void => {
    const full = `${module}\n${name}\n`;
    const m = globals.get(full);
    if (m !== undefined) return get(m);
    o.byte(0x63);
    o.buf(Buffer.from(full, 'utf8'));
    globals.set(full, memoNext);
    put();
  };
  const int = (v: number | bigint): void => {
    if (typeof v === 'number' && v >= 0 && v < 256) {
      o.byte(0x4b);
      o.byte(v);
    } else if (typeof v === 'number' && v >= 0 && v < 65536) {
      o.byte(0x4d);
      const b = Buffer.alloc(2);
      b.writeUInt16LE(v);
      o.buf(b);
    } else if (typeof v === 'number' && v >= -0x80000000 && v <= 0x7fffffff) {
      o.byte(0x4a);
      const b = Buffer.alloc(4);
      b.writeInt32LE(v);
      o.buf(b);
    } else {
      let x = BigInt(v);
      const bytes: number[] = [];
      // two's complement, little-endian, shortest that keeps the sign
      for (;;) {
        const byte = Number(x & 0xffn);
        bytes.push(byte);
        x >>= 8n;
        if ((x === 0n && !(byte & 0x80)) || (x === -1n && byte & 0x80)) break;
      }
      o.byte(0x8a);
      o.byte(bytes.length);
      o.buf(Buffer.from(bytes));
    }
  };
  const float = (v: number): void => {
    o.byte(0x47);
    const b = Buffer.alloc(8);
    b.writeDoubleBE(v);
    o.buf(b);
  };
  const str = (s: string): void => {
    const b = Buffer.from(s, 'utf8');
    o.byte(0x58);
    const n = Buffer.alloc(4);
    n.writeUInt32LE(b.length);
    o.buf(n);
    o.buf(b);
    put();
  };
  const tuple = (items: PyValue[]): void => {
    if (items.length === 0) return o.byte(0x29);
    if (items.length <= 3) {
      for (const x of items) save(x);
      o.byte(0x84 + items.length);
    } else {
      o.byte(0x28);
      for (const x of items) save(x);
      o.byte(0x74);
    }
    put();
  };
  const storage = (s: StorageRef): void => {
    o.byte(0x28); // the persistent id: ('storage', torch.<Type>Storage, key, location, numel)
    str('storage');
    global('torch', storageClass(s.dtype));
    str(s.key);
    str(s.location);
    int(s.numel);
    o.byte(0x74);
    put();
    o.byte(0x51); // BINPERSID
  };
  const tensor = (t: TensorRef): void => {
    global('torch._utils', '_rebuild_tensor_v2');
    o.byte(0x28);
    storage(t.storage);
    int(t.offset);
    tuple(t.shape);
    tuple(t.stride);
    o.byte(t.requiresGrad ? 0x88 : 0x89);
    global('collections', 'OrderedDict');
    o.byte(0x29);
    o.byte(0x52);
    put();
    o.byte(0x74);
    put();
    o.byte(0x52);
    put();
  };
  const dict = (d: PyDict): void => {
    if (d.ordered) {
      global('collections', 'OrderedDict');
      o.byte(0x29);
      o.byte(0x52);
    } else o.byte(0x7d);
    put();
    const entries = [...d.map];
    for (let i = 0; i < entries.length; i += 1000) {
      o.byte(0x28);
      for (const [k, v] of entries.slice(i, i + 1000)) {
        save(k);
        save(v);
      }
      o.byte(0x75);
    }
  };
  const save = (v: PyValue): void => {
    if (v === null) o.byte(0x4e);
    else if (v === true) o.byte(0x88);
    else if (v === false) o.byte(0x89);
    else if (typeof v === 'number') {
      if (Number.isSafeInteger(v) && !Object.is(v, -0)) int(v);
      else float(v);
    } else if (typeof v === 'bigint') int(v);
    else if (typeof v === 'string') str(v);
    else if (v instanceof PyFloat) float(v.value);
    else if (v instanceof StorageType) global('torch', storageClass(v.dtype));
    else if (v instanceof PyTuple) tuple(v.items);
    else if (v instanceof PyDict) dict(v);
    else if (v instanceof TensorRef) tensor(v);
    else if (Array.isArray(v)) {
      o.byte(0x5d);
      put();
      for (let i = 0; i < v.length; i += 1000) {
        o.byte(0x28);
        for (const x of v.slice(i, i + 1000)) save(x);
        o.byte(0x65);
      }
    } else throw new Error(`cannot pickle ${v instanceof StorageRef ? 'a bare storage' : typeof v}`);
  };
  o.byte(0x80);
  o.byte(2);
  save(root);
  o.byte(0x2e);
  return o.done();
}
