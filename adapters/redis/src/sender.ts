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

/** A send the deadline of which passed before Redis confirmed it. */
export class SendTimeout extends Error {
  constructor(readonly ms: number) {
    super(`not confirmed within ${ms} ms`);
    this.name = "SendTimeout";
  }
}

/**
 * One `send` call on its way: its units, settled once (by the replies of Redis, a failure, or its
 * deadline). Created by the adapter, queued with {@link Sender.enqueue} once it may go.
 */
export class Ticket {
  readonly promise: Promise<void>;
  remaining: number;
  settled = false;
  private error: unknown;
  private resolveFn!: () => void;
  private rejectFn!: (error: unknown) => void;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(
    readonly stream: string,
    readonly delayed: string,
    readonly nomk: boolean,
    readonly units: readonly Unit[],
    timeoutMs: number,
    onTimeout: (ticket: Ticket) => void,
  ) {
    this.remaining = units.length;
    this.promise = new Promise<void>((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
    this.timer = setTimeout(() => {
      if (this.settled) return;
      onTimeout(this);
      this.fail(new SendTimeout(timeoutMs));
    }, timeoutMs);
  }

  /** One unit was written (`error` undefined) or failed. */
  unitDone(error: unknown): void {
    if (this.settled) return;
    if (error !== undefined && this.error === undefined) this.error = error;
    if (--this.remaining > 0) return;
    if (this.error === undefined) this.succeed();
    else this.fail(this.error);
  }

  /** Settle as failed now (later replies are ignored). */
  fail(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.rejectFn(error);
  }

  private succeed(): void {
    this.settled = true;
    clearTimeout(this.timer);
    this.resolveFn();
  }
}

interface Queued {
  readonly unit: Unit;
  readonly ticket: Ticket;
}

interface Destination {
  readonly stream: string;
  readonly delayed: string;
  readonly nomk: boolean;
  queue: Queued[];
  busy: boolean;
}

/**
 * Writes sends, one script call at a time per stream. A send to an idle stream leaves at once;
 * sends arriving while a call to their stream is on its way gather and leave together when it
 * returns (up to `maxBatchSize` messages or `CHUNK_BYTES` per call). Low latency when traffic is
 * light; under load, many concurrent sends (an application publishing from request handlers) cost
 * one round trip together. One call at a time also keeps the order of sends to a stream.
 * Each ticket settles when every piece of it is stored, or fails; a ticket whose deadline passes
 * has its pieces that have not left yet taken off the queue ({@link Sender.cancel}).
 */
export class Sender {
  private readonly destinations = new Map<string, Destination>();

  constructor(
    private readonly client: RedisClient,
    private readonly maxBatchSize: number,
  ) {}

  enqueue(ticket: Ticket): void {
    if (ticket.settled) return;
    let dest = this.destinations.get(ticket.stream);
    if (!dest) {
      dest = { stream: ticket.stream, delayed: ticket.delayed, nomk: ticket.nomk, queue: [], busy: false };
      this.destinations.set(ticket.stream, dest);
    }
    for (const unit of ticket.units) dest.queue.push({ unit, ticket });
    if (!dest.busy) this.next(dest);
  }

  /** Take the pieces of `ticket` that have not left yet off their queue (its deadline passed). */
  cancel(ticket: Ticket): void {
    const dest = this.destinations.get(ticket.stream);
    if (dest) dest.queue = dest.queue.filter((q) => q.ticket !== ticket);
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
      for (const { ticket } of chunk) ticket.unitDone(error);
      this.next(dest);
    };
    let reply: Promise<unknown>;
    try {
      reply = runScript(
        this.client,
        "omnibusSend",
        [dest.stream, dest.delayed],
        [dest.nomk ? "1" : "0", joinBatches(chunk.map((q) => q.unit))],
      );
    } catch (error) {
      reply = Promise.reject(error);
    }
    reply.then(
      () => settle(undefined),
      (error: unknown) => settle(error ?? new Error("send failed")),
    );
  }
}
