const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Whether the bytes read as text: valid UTF-8 (a character cut at the end allowed) with few control characters. */
export function looksLikeText(bytes: Uint8Array): boolean {
  if (bytes.length === 0) return true;
  let control = 0;
  for (const b of bytes) if (b < 9 || (b > 13 && b < 32) || b === 127) control++;
  if (control > bytes.length * 0.01) return false;
  try {
    UTF8.decode(bytes.subarray(0, Math.max(0, bytes.length - 3)));
    return true;
  } catch {
    return false;
  }
}
