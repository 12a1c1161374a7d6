/**
 * Node's file system and paths, reached when a function needs them rather than by an import: modules that
 * read or write files then also load in a browser or a bundle (`bgpt/web`), where only the call fails, with
 * one line saying what to give instead. (process.getBuiltinModule: Node ≥ 20.16.)
 */
type Fs = typeof import('node:fs');
type Path = typeof import('node:path');

function builtin<T>(name: string): T {
  const get = (globalThis as { process?: { getBuiltinModule?: (n: string) => unknown } }).process?.getBuiltinModule;
  if (!get) throw new Error(`Node's ${name} module is not available here: files are read and written by path only in Node.js ≥ 20.16 (give the bytes, a Blob or a URL)`);
  return get(name) as T;
}

export const nodeFs = (): Fs => builtin<Fs>('fs');
export const nodePath = (): Path => builtin<Path>('path');
