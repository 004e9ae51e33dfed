import { ConnectionError } from "@omnibus/core";
import type { Redis } from "ioredis";

/**
 * Collects acknowledgements and sends them once per event-loop turn: one `XACK` per stream and group
 * with every id acknowledged meanwhile, all in one pipeline (one round trip). Handlers finishing in
 * the same turn (the usual case under load) cost one command together instead of one each.
 */
export class Acker {
  private pending = new Map<string, { stream: string; group: string; ids: string[] }>();
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly client: Redis,
    private readonly onError: (error: unknown) => void,
  ) {}

  /**
   * Queue an ack for the next flush (at the end of this event-loop turn). Returns at once: the SPI
   * lets an ack resolve once batched, and a lost ack only means a redelivery (at-least-once).
   * Failures go to `onError`.
   */
  ack(stream: string, group: string, id: string): void {
    const k = `${stream}\n${group}`;
    const batch = this.pending.get(k);
    if (batch) batch.ids.push(id);
    else this.pending.set(k, { stream, group, ids: [id] });
    this.flushing ??= new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.flush())
      .catch(this.onError);
  }

  /** Send what is queued now; resolves when Redis has it. */
  async flush(): Promise<void> {
    const batches = this.pending;
    this.pending = new Map();
    this.flushing = undefined;
    if (batches.size === 0) return;
    const pipeline = this.client.pipeline();
    for (const { stream, group, ids } of batches.values()) pipeline.xack(stream, group, ...ids);
    let results: [Error | null, unknown][] | null;
    try {
      results = await pipeline.exec();
    } catch (cause) {
      throw new ConnectionError(`redis: acknowledgement failed: ${(cause as Error).message}`, { cause });
    }
    const failed = results?.find(([error]) => error !== null)?.[0];
    if (failed)
      throw new ConnectionError(`redis: acknowledgement failed: ${failed.message}`, { cause: failed });
  }
}
