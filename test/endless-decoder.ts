/**
 * A generation decoder for the serve tests, loaded by the server's compute worker (ServeOptions.decoderModule).
 * Query parameters of the module's URL: `stepMs` makes each step compute (spin) that long (default 1 ms: a
 * real decoder's pace, so the bytes do not outrun the sockets); `exit` makes the first step end the worker
 * thread with that exit code.
 */
import type { StepOutput, StreamRunner } from '../src/serve/decoder.js';

const query = new URL(import.meta.url).searchParams;
const stepMs = Number(query.get('stepMs') ?? 1);
const exitCode = query.get('exit');

/**
 * A decoder that never ends a stream: every step gives each stream the byte "A". Lets tests hold streams in
 * the batch and the queue for as long as they need.
 */
export class EndlessDecoder implements StreamRunner {
  private ids = new Set<number>();
  private next = 1;
  get size(): number {
    return this.ids.size;
  }
  join(): number {
    this.ids.add(this.next);
    return this.next++;
  }
  step(): StepOutput[] {
    if (exitCode !== null) process.exit(Number(exitCode));
    const end = performance.now() + stepMs;
    while (performance.now() < end);
    return [...this.ids].map((id) => ({ id, byte: 65 }));
  }
  leave(id: number): void {
    this.ids.delete(id);
  }
}

export function createDecoder(): StreamRunner {
  return new EndlessDecoder();
}
