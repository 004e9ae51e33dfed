import { ConnectionError } from "@omnibus/core";
import type { RedisClient } from "./client.js";
import type { Scrubber } from "./errors.js";

type Batch = { stream: string; group: string; ids: string[] };

/**
 * Collects acknowledgements and sends them in batches: one `XACK` per stream and group with every
 * id acknowledged meanwhile. A batch leaves at the end of the event-loop turn in which its first
 * ack came, unless a batch is already on its way: then acks gather until its reply is back, so under
 * load each round trip carries many acks and the client makes few socket writes.
 */
export class Acker {
  private pending = new Map<string, Batch>();
  private scheduled = false;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly client: RedisClient,
    private readonly scrub: Scrubber,
    private readonly onError: (error: unknown) => void,
  ) {}

  /**
   * Queue an ack. Returns at once: the SPI lets an ack resolve once batched, and a lost ack only
   * means a redelivery (at-least-once). Failures go to `onError`.
   */
  ack(stream: string, group: string, id: string): void {
    const k = `${stream}\n${group}`;
    const batch = this.pending.get(k);
    if (batch) batch.ids.push(id);
    else this.pending.set(k, { stream, group, ids: [id] });
    if (!this.scheduled && this.inFlight === undefined) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.send();
      });
    }
  }

  /** Send everything queued, including what is queued while earlier acks are on their way. */
  async flush(): Promise<void> {
    while (this.inFlight !== undefined || this.pending.size > 0) {
      if (this.inFlight === undefined) this.send();
      await this.inFlight;
    }
  }

  private send(): void {
    if (this.inFlight !== undefined || this.pending.size === 0) return;
    const batches = [...this.pending.values()];
    this.pending = new Map();
    this.inFlight = this.write(batches)
      .catch((error) => this.onError(error))
      .finally(() => {
        this.inFlight = undefined;
        // What gathered meanwhile goes now.
        if (this.pending.size > 0 && !this.scheduled) this.send();
      });
  }

  private async write(batches: Batch[]): Promise<void> {
    try {
      // One command per stream (they may live on different cluster nodes); ioredis writes them
      // back to back.
      await Promise.all(batches.map(({ stream, group, ids }) => this.client.xack(stream, group, ...ids)));
    } catch (cause) {
      throw new ConnectionError(`redis: acknowledgement failed: ${this.scrub.message(cause)}`, {
        cause: this.scrub.cause(cause),
      });
    }
  }
}
