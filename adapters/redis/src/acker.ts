import { ConnectionError } from "@omnibus/core";
import { ReplyError } from "ioredis";
import type { RedisClient } from "./client.js";
import type { Scrubber } from "./errors.js";

type Batch = { stream: string; group: string; ids: string[] };

/** Most ids in one `XACK` (acks gathered while Redis was unreachable go in several). */
const MAX_IDS_PER_XACK = 5000;
/** Delays between attempts to send acks that failed (the connection was lost). */
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2000;

/**
 * Collects acknowledgements and sends them in batches: one `XACK` per stream and group with every
 * id acknowledged meanwhile. A batch leaves at the end of the event-loop turn in which its first
 * ack came, unless a batch is already on its way: then acks gather until its reply is back, so under
 * load each round trip carries many acks and the client makes few socket writes.
 *
 * An `XACK` that fails because the connection is lost (or ioredis gave up queueing it while
 * reconnecting) is not dropped: its ids go back to the queue and are sent again, with backoff,
 * until Redis takes them. Only a reply error from Redis itself (the group is gone, …) drops them.
 * Until then {@link Acker.unconfirmed} lists them, so that a consumer does not take a message it
 * has settled for one it lost.
 */
export class Acker {
  private pending = new Map<string, Batch>();
  private inFlightBatches: Batch[] = [];
  private scheduled = false;
  private inFlight: Promise<boolean> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = RETRY_MIN_MS;
  /** A failure was reported and no batch succeeded since (one log line per outage). */
  private failing = false;
  private closed = false;

  constructor(
    private readonly client: RedisClient,
    private readonly scrub: Scrubber,
    private readonly onError: (error: unknown) => void,
  ) {}

  /**
   * Queue an ack. Returns at once: the SPI lets an ack resolve once batched, and a lost ack only
   * means a redelivery (at-least-once). Failures go to `onError`, and the ack is retried.
   */
  ack(stream: string, group: string, id: string): void {
    this.queue(stream, group, [id]);
    if (!this.scheduled && this.inFlight === undefined) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.send();
      });
    }
  }

  /**
   * The ids of `stream` and `group` acknowledged by this client and not yet confirmed by Redis
   * (queued, on their way, or waiting to be retried).
   */
  unconfirmed(stream: string, group: string): string[] {
    const out: string[] = [];
    const k = `${stream}\n${group}`;
    const queued = this.pending.get(k);
    if (queued) out.push(...queued.ids);
    for (const b of this.inFlightBatches) if (b.stream === stream && b.group === group) out.push(...b.ids);
    return out;
  }

  /**
   * Send everything queued, including what is queued while earlier acks are on their way. Gives up
   * (the acks stay queued and are retried) when an attempt fails while Redis is unreachable.
   */
  async flush(): Promise<void> {
    while (!this.closed && (this.inFlight !== undefined || this.pending.size > 0)) {
      if (this.inFlight === undefined) this.send();
      const ok = await this.inFlight;
      if (!ok) {
        if (this.client.status !== "ready") return;
        await new Promise((resolve) => setTimeout(resolve, RETRY_MIN_MS));
      }
    }
  }

  /** Stop retrying (the adapter is closing); what is still queued is lost (a redelivery). */
  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private queue(stream: string, group: string, ids: string[]): void {
    const k = `${stream}\n${group}`;
    const batch = this.pending.get(k);
    if (batch) {
      if (ids.length === 1) batch.ids.push(ids[0]!);
      else batch.ids.push(...ids);
    } else this.pending.set(k, { stream, group, ids });
  }

  private send(): void {
    if (this.closed || this.inFlight !== undefined || this.pending.size === 0) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const batches = [...this.pending.values()];
    this.pending = new Map();
    this.inFlightBatches = batches;
    const attempt = this.write(batches);
    this.inFlight = attempt;
    void attempt.then((ok) => {
      this.inFlight = undefined;
      this.inFlightBatches = [];
      if (this.pending.size === 0 || this.scheduled) return;
      if (ok) {
        // What gathered meanwhile goes now.
        this.send();
      } else {
        // Retried with backoff (commands queued while ioredis reconnects wait for it anyway).
        const ms = this.retryMs;
        this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.send();
        }, ms);
        this.retryTimer.unref();
      }
    });
  }

  /** Sends the batches; failed ones go back to the queue. Resolves `true` when all got through. */
  private async write(batches: Batch[]): Promise<boolean> {
    // One command per stream (they may live on different cluster nodes); ioredis writes them
    // back to back.
    const commands: { batch: Batch; ids: string[]; reply: Promise<unknown> }[] = [];
    for (const batch of batches) {
      for (let i = 0; i < batch.ids.length; i += MAX_IDS_PER_XACK) {
        const ids =
          batch.ids.length <= MAX_IDS_PER_XACK ? batch.ids : batch.ids.slice(i, i + MAX_IDS_PER_XACK);
        commands.push({ batch, ids, reply: this.client.xack(batch.stream, batch.group, ...ids) });
      }
    }
    const results = await Promise.allSettled(commands.map((c) => c.reply));
    let failure: unknown;
    let retrying = false;
    results.forEach((r, i) => {
      if (r.status === "fulfilled") return;
      failure ??= r.reason;
      if (isPermanent(r.reason)) return;
      const { batch, ids } = commands[i]!;
      this.queue(batch.stream, batch.group, ids);
      retrying = true;
    });
    if (failure === undefined) {
      this.failing = false;
      this.retryMs = RETRY_MIN_MS;
      return true;
    }
    if (!this.failing || !retrying) {
      this.failing = retrying;
      this.onError(
        new ConnectionError(
          `redis: acknowledgement failed${retrying ? " (retried once Redis answers)" : ""}: ${this.scrub.message(failure)}`,
          { cause: this.scrub.cause(failure) },
        ),
      );
    }
    return !retrying;
  }
}

/**
 * A reply error of Redis about the command itself (the group or stream is gone, a wrong type): sending
 * it again cannot help. Errors of a server that is busy or not serving yet are retried.
 */
function isPermanent(error: unknown): boolean {
  if (!(error instanceof ReplyError)) return false;
  const message = String((error as Error).message);
  return !/^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY|NOREPLICAS)\b/.test(message);
}
