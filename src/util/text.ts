/** Text from a file, made safe to show in a one-line message. */

/**
 * Control characters (newlines included) as `\xNN` escapes: names read from a broken or hostile file (zip
 * entries, tensor keys) can hold any bytes, and an error message must stay one line.
 */
export function printable(s: string): string {
  return s.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** The error of reading `path`: its message, printable, after the file name. */
export function fileError(path: string, e: unknown): Error {
  return new Error(`${path}: ${printable(e instanceof Error ? e.message : String(e))}`);
}
