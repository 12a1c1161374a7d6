/**
 * A restricted unpickler for torch checkpoints. It understands the opcodes torch.save emits (pickle
 * protocol 2, plus the harmless framing/short-string opcodes of protocols 3–5) and resolves only the globals
 * a tensor checkpoint needs: collections.OrderedDict, torch's tensor/parameter rebuild functions, the
 * typed storage classes (as persistent-id tags) and float/int dtypes (as _rebuild_tensor_v3's argument). Those are interpreted as data (see pyvalue.ts); any other
 * global, object construction opcode or persistent id is refused with an error before anything is built.
 * Nothing from the file is ever executed.
 */
import type { DType } from '../dtypes.js';
import { PyDict, PyTuple, StorageRef, StorageType, TensorRef, type PyKey, type PyValue } from './pyvalue.js';

/** torch storage classes and the element type of their bytes. */
export const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: 'F32', HalfStorage: 'F16', BFloat16Storage: 'BF16', DoubleStorage: 'F64', LongStorage: 'I64',
  IntStorage: 'I32', ShortStorage: 'I16', CharStorage: 'I8', ByteStorage: 'U8', BoolStorage: 'BOOL',
};

const CALLABLES = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_tensor_v3',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
]);

/** torch dtype globals (torch.float32, …), accepted only as _rebuild_tensor_v3's dtype argument. */
const DTYPE_GLOBALS: Record<string, DType> = { float32: 'F32', float: 'F32', float16: 'F16', half: 'F16', bfloat16: 'BF16', float64: 'F64', double: 'F64', uint8: 'U8', int64: 'I64', bool: 'BOOL' };

class DTypeTag {
  constructor(readonly dtype: DType) {}
}

/** A resolved, allowed global: a rebuild function or a storage type tag. Never leaves the unpickler. */
class PyGlobal {
  constructor(readonly fullName: string) {}
}

const MARK = Symbol('mark');
type Item = PyValue | PyGlobal | DTypeTag | typeof MARK;

const REFUSED: Record<number, string> = {
  0x69: 'INST', 0x6f: 'OBJ', 0x81: 'NEWOBJ', 0x92: 'NEWOBJ_EX', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4',
  0x50: 'PERSID', 0x49: 'INT', 0x4c: 'LONG', 0x46: 'FLOAT', 0x53: 'STRING', 0x56: 'UNICODE', 0x67: 'GET',
  0x70: 'PUT', 0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

const MAX_DIMS = 64;
/** Real checkpoints take ~50 opcodes per tensor; the cap keeps a hostile pickle's memory bounded. */
const MAX_OPS = 4_000_000;
const utf8 = new TextDecoder('utf-8');

export function unpickle(data: Uint8Array): PyValue {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  let stack: Item[] = [];
  const marks: Item[][] = [];
  const memo = new Map<number, Item>();
  const storages = new Map<string, StorageRef>();

  const fail = (msg: string): never => {
    throw new Error(`pickle (byte ${pos}): ${msg}`);
  };
  const need = (n: number): number => {
    if (n < 0 || pos + n > data.length) fail('truncated');
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = (): number => data[need(1)];
  const u16 = (): number => dv.getUint16(need(2), true);
  const u32 = (): number => dv.getUint32(need(4), true);
  const u64 = (): number => {
    const v = dv.getBigUint64(need(8), true);
    if (v > BigInt(data.length)) fail('length field larger than the pickle');
    return Number(v);
  };
  const bytes = (n: number): Uint8Array => {
    const at = need(n);
    return data.subarray(at, at + n);
  };
  const line = (): string => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0 || end - pos > 512) fail('bad GLOBAL line');
    const s = utf8.decode(data.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): Item => {
    if (!stack.length) fail('stack underflow');
    return stack.pop()!;
  };
  const top = (): Item => {
    if (!stack.length) fail('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): Item[] => {
    const items = stack;
    if (!marks.length) fail('no MARK');
    stack = marks.pop()!;
    return items;
  };
  const value = (x: Item, what: string): PyValue => {
    if (x === MARK || x instanceof PyGlobal) fail(`${what}: ${x === MARK ? 'a MARK' : (x as PyGlobal).fullName} is not a value`);
    return x as PyValue;
  };
  /** Tuple items may be dtype tags (only _rebuild_tensor_v3 looks at them). */
  const item = (x: Item, what: string): PyValue => (x instanceof DTypeTag ? (x as unknown as PyValue) : value(x, what));
  const key = (x: Item): PyKey => {
    if (x === null || ['string', 'number', 'bigint', 'boolean'].includes(typeof x)) return x as PyKey;
    return fail('dict key of an unsupported type');
  };
  const global = (module: string, name: string): PyGlobal | StorageType | DTypeTag => {
    const full = `${module}.${name}`;
    if (CALLABLES.has(full)) return new PyGlobal(full);
    if (module === 'torch' && Object.prototype.hasOwnProperty.call(DTYPE_GLOBALS, name)) return new DTypeTag(DTYPE_GLOBALS[name]);
    if (module === 'torch' && Object.prototype.hasOwnProperty.call(STORAGE_DTYPES, name)) return new StorageType(full, STORAGE_DTYPES[name]);
    return fail(`refers to ${full}, which a tensor checkpoint never needs (refused, not executed)`);
  };
  const long = (b: Uint8Array): number | bigint => {
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b.length && b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const ints = (x: PyValue, what: string): number[] => {
    if (!(x instanceof PyTuple) || x.items.length > MAX_DIMS) return fail(`${what} must be a tuple of at most ${MAX_DIMS} integers`);
    return x.items.map((d) => (typeof d === 'number' && Number.isSafeInteger(d) && d >= 0 ? d : fail(`${what} must hold non-negative integers`)));
  };
  const tensor = (args: PyValue[], fn: string): TensorRef => {
    const [storage, offset, size, stride] = args;
    if (!(storage instanceof StorageRef)) return fail(`${fn}: first argument is not a storage`);
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) return fail(`${fn}: bad storage offset`);
    const shape = ints(size, `${fn}: size`), strides = ints(stride, `${fn}: stride`);
    if (shape.length !== strides.length) fail(`${fn}: size and stride differ in length`);
    let last = offset, numel = 1;
    for (let i = 0; i < shape.length; i++) {
      numel *= shape[i];
      last += (shape[i] - 1) * strides[i];
    }
    if (!Number.isSafeInteger(numel) || !Number.isSafeInteger(last)) fail(`${fn}: tensor size out of range`);
    if (numel > 0 && last >= storage.numel) {
      fail(`tensor [${shape}] (offset ${offset}, strides [${strides}]) reaches element ${last} of storage ${storage.key}, which has ${storage.numel}`);
    }
    return new TensorRef(storage, offset, shape, strides, args[4] === true);
  };
  const call = (fn: PyGlobal, args: PyValue[]): PyValue => {
    switch (fn.fullName) {
      case 'collections.OrderedDict': {
        if (args.length === 0) return new PyDict(true);
        return fail('OrderedDict is only rebuilt empty');
      }
      case 'torch._utils._rebuild_tensor_v2':
        if (args.length < 6 || args.length > 7) fail('_rebuild_tensor_v2 takes 6 or 7 arguments');
        return tensor(args, '_rebuild_tensor_v2');
      case 'torch._utils._rebuild_tensor_v3': {
        if (args.length < 7 || args.length > 8) fail('_rebuild_tensor_v3 takes 7 or 8 arguments');
        const t = tensor(args, '_rebuild_tensor_v3'), dt = args[6] as unknown;
        if (!(dt instanceof DTypeTag) || dt.dtype !== t.storage.dtype) fail('_rebuild_tensor_v3 with a dtype other than its storage\'s is not supported');
        return t;
      }
      case 'torch._utils._rebuild_tensor':
        if (args.length !== 4) fail('_rebuild_tensor takes 4 arguments');
        return tensor(args, '_rebuild_tensor');
      case 'torch._utils._rebuild_parameter':
      case 'torch._utils._rebuild_parameter_with_state': {
        const t = args[0];
        if (!(t instanceof TensorRef)) return fail(`${fn.fullName}: first argument is not a tensor`);
        return new TensorRef(t.storage, t.offset, t.shape, t.stride, args[1] === true, true);
      }
    }
    return fail(`${fn.fullName} cannot be called`);
  };
  const persistent = (pid: PyValue): StorageRef => {
    if (!(pid instanceof PyTuple) || pid.items.length !== 5 || pid.items[0] !== 'storage') fail('persistent id is not a storage reference');
    const [, type, k, location, numel] = (pid as PyTuple).items as Item[];
    if (!(type instanceof StorageType)) return fail('storage reference without a storage type');
    const dtype = type.dtype;
    if (typeof k !== 'string' || !/^[A-Za-z0-9_]{1,64}$/.test(k)) return fail('bad storage key');
    if (typeof location !== 'string' || location.length > 64) return fail('bad storage location');
    if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) return fail('bad storage size');
    const seen = storages.get(k);
    if (seen) {
      if (seen.dtype !== dtype || seen.numel !== numel) fail(`storage ${k} is declared twice with different types or sizes`);
      return seen;
    }
    const s = new StorageRef(k, dtype, location, numel);
    storages.set(k, s);
    return s;
  };

  let ops = 0;
  for (;;) {
    const at = pos;
    if (++ops > MAX_OPS) fail(`more than ${MAX_OPS} opcodes (not a tensor checkpoint)`);
    if (pos >= data.length) fail('ends without STOP');
    const op = data[pos++];
    switch (op) {
      case 0x80: { // PROTO
        const v = u8();
        if (v > 5) fail(`protocol ${v}`);
        break;
      }
      case 0x95: u64(); break; // FRAME: frames are just a read-ahead hint
      case 0x2e: { // STOP
        const r = pop();
        return value(r, 'result');
      }
      case 0x28: marks.push(stack); stack = []; break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(dv.getInt32(need(4), true)); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: stack.push(long(bytes(u8()))); break; // LONG1
      case 0x8b: { // LONG4
        const n = u32();
        if (n > 1024) fail('integer too long');
        stack.push(long(bytes(n)));
        break;
      }
      case 0x47: stack.push(dv.getFloat64(need(8), false)); break; // BINFLOAT (big-endian)
      case 0x58: stack.push(utf8.decode(bytes(u32()))); break; // BINUNICODE
      case 0x8c: stack.push(utf8.decode(bytes(u8()))); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(utf8.decode(bytes(u64()))); break; // BINUNICODE8
      case 0x55: stack.push(bytes(u8()).slice()); break; // SHORT_BINSTRING
      case 0x54: stack.push(bytes(dv.getInt32(need(4), true)).slice()); break; // BINSTRING
      case 0x43: stack.push(bytes(u8()).slice()); break; // SHORT_BINBYTES
      case 0x42: stack.push(bytes(u32()).slice()); break; // BINBYTES
      case 0x8e: stack.push(bytes(u64()).slice()); break; // BINBYTES8
      case 0x29: stack.push(new PyTuple([])); break; // EMPTY_TUPLE
      case 0x74: { // TUPLE (popMark replaces `stack`: take the items before pushing)
        const t = new PyTuple(popMark().map((x) => item(x, 'tuple item')));
        stack.push(t);
        break;
      }
      case 0x85: case 0x86: case 0x87: { // TUPLE1..3
        const n = op - 0x84;
        if (stack.length < n) fail('stack underflow');
        const items = stack.splice(stack.length - n, n).map((x) => item(x, 'tuple item'));
        stack.push(new PyTuple(items));
        break;
      }
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x6c: { // LIST
        const l = popMark().map((x) => value(x, 'list item'));
        stack.push(l);
        break;
      }
      case 0x61: { // APPEND
        const v = value(pop(), 'list item'), l = top();
        if (!Array.isArray(l)) fail('APPEND to a non-list');
        (l as PyValue[]).push(v);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark().map((x) => value(x, 'list item')), l = top();
        if (!Array.isArray(l)) fail('APPENDS to a non-list');
        for (const v of items) (l as PyValue[]).push(v);
        break;
      }
      case 0x7d: stack.push(new PyDict()); break; // EMPTY_DICT
      case 0x64: { // DICT
        const items = popMark(), d = new PyDict();
        if (items.length % 2) fail('odd number of dict items');
        for (let i = 0; i < items.length; i += 2) d.map.set(key(items[i]), value(items[i + 1], 'dict value'));
        stack.push(d);
        break;
      }
      case 0x73: { // SETITEM
        const v = value(pop(), 'dict value'), k = key(pop()), d = top();
        if (!(d instanceof PyDict)) fail('SETITEM on a non-dict');
        (d as PyDict).map.set(k, v);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark(), d = top();
        if (!(d instanceof PyDict)) fail('SETITEMS on a non-dict');
        if (items.length % 2) fail('odd number of dict items');
        for (let i = 0; i < items.length; i += 2) (d as PyDict).map.set(key(items[i]), value(items[i + 1], 'dict value'));
        break;
      }
      case 0x63: { // GLOBAL
        const module = line(), name = line();
        stack.push(global(module, name));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop(), module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop(), fn = pop();
        if (!(fn instanceof PyGlobal)) fail('REDUCE of something that is not an allowed function');
        if (!(args instanceof PyTuple)) fail('REDUCE arguments are not a tuple');
        stack.push(call(fn as PyGlobal, (args as PyTuple).items));
        break;
      }
      case 0x62: { // BUILD: state of an OrderedDict (its _metadata) or legacy tensor state: kept out
        value(pop(), 'state');
        const inst = top();
        if (!(inst instanceof PyDict) && !(inst instanceof TensorRef)) fail('BUILD on something other than a dict or tensor');
        break;
      }
      case 0x51: stack.push(persistent(value(pop(), 'persistent id'))); break; // BINPERSID
      case 0x68: case 0x6a: { // BINGET, LONG_BINGET
        const i = op === 0x68 ? u8() : u32();
        if (!memo.has(i)) fail(`memo ${i} is not set`);
        stack.push(memo.get(i)!);
        break;
      }
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      default:
        pos = at;
        fail(REFUSED[op] ? `opcode ${REFUSED[op]} is not allowed in a tensor checkpoint` : `unknown opcode 0x${op.toString(16)}`);
    }
  }
}
