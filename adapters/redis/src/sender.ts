import type { RedisClient } from "./client.js";
import { joinBatches } from "./codec.js";
import { runScript } from "./commands.js";

/** Payload bytes per send script call: bounds the time one call holds the server. */
export const CHUNK_BYTES = 1024 * 1024;

/** A packed piece of one `send` call: up to `maxBatchSize` messages or `CHUNK_BYTES`. */
export interface Unit {
  /** Packed messages, 5 bytes reserved in front (see `BatchPacker.unframed`). */
  readonly buf: Buffer;
  /** Messages in it. */
  readonly count: number;
  /** msgpack array elements in it. */
  readonly elements: number;
}

interface Call {
  remaining: number;
  error: unknown;
  resolve(): void;
  reject(error: unknown): void;
}

interface Queued {
  readonly unit: Unit;
  readonly call: Call;
}

interface Destination {
  readonly stream: string;
  readonly delayed: string;
  readonly nomk: boolean;
  readonly queue: Queued[];
  busy: boolean;
}

/**
 * Writes sends, one script call at a time per stream. A send to an idle stream leaves at once;
 * sends arriving while a call to their stream is on its way gather and leave together when it
 * returns (up to `maxBatchSize` messages or `CHUNK_BYTES` per call). Low latency when traffic is
 * light; under load, many concurrent sends (an application publishing from request handlers) cost
 * one round trip together. One call at a time also keeps the order of sends to a stream.
 * Each `send` resolves when every piece of it is stored.
 */
export class Sender {
  private readonly destinations = new Map<string, Destination>();

  constructor(
    private readonly client: RedisClient,
    private readonly maxBatchSize: number,
  ) {}

  send(stream: string, delayed: string, nomk: boolean, units: readonly Unit[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const call: Call = { remaining: units.length, error: undefined, resolve, reject };
      let dest = this.destinations.get(stream);
      if (!dest) {
        dest = { stream, delayed, nomk, queue: [], busy: false };
        this.destinations.set(stream, dest);
      }
      for (const unit of units) dest.queue.push({ unit, call });
      if (!dest.busy) this.next(dest);
    });
  }

  /** Write the next chunk of a destination's queue, or forget the destination when it is empty. */
  private next(dest: Destination): void {
    if (dest.queue.length === 0) {
      dest.busy = false;
      this.destinations.delete(dest.stream);
      return;
    }
    dest.busy = true;
    let take = 0;
    let count = 0;
    let bytes = 0;
    for (const q of dest.queue) {
      if (take > 0 && (count + q.unit.count > this.maxBatchSize || bytes + q.unit.buf.length > CHUNK_BYTES))
        break;
      take++;
      count += q.unit.count;
      bytes += q.unit.buf.length;
    }
    const chunk = dest.queue.splice(0, take);
    const settle = (error: unknown) => {
      for (const { call } of chunk) {
        if (error !== undefined && call.error === undefined) call.error = error;
        if (--call.remaining === 0) {
          if (call.error === undefined) call.resolve();
          else call.reject(call.error);
        }
      }
      this.next(dest);
    };
    runScript(
      this.client,
      "omnibusSend",
      [dest.stream, dest.delayed],
      [dest.nomk ? "1" : "0", joinBatches(chunk.map((q) => q.unit))],
    ).then(
      () => settle(undefined),
      (error: unknown) => settle(error ?? new Error("send failed")),
    );
  }
}
