import type { Redis } from "ioredis";
import { joinBatches } from "./codec.js";
import { runScript } from "./commands.js";

/** Payload bytes per send script call: bounds the time one call holds the server. */
export const CHUNK_BYTES = 1024 * 1024;

/** A packed piece of one `send` call: up to `maxBatchSize` messages or `CHUNK_BYTES`. */
export interface Unit {
  /** Packed messages, 5 bytes reserved in front (see `BatchPacker.unframed`). */
  readonly buf: Buffer;
  readonly count: number;
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
  units: Queued[];
}

/**
 * Coalesces sends: the `send` calls of one event-loop turn to one stream leave together, as one
 * script call per `maxBatchSize` messages (or `CHUNK_BYTES`). Many concurrent single-message sends
 * (an application publishing from request handlers) then cost one round trip and one socket write
 * together instead of one each. Each call resolves when every piece of it is stored.
 */
export class Sender {
  private pending = new Map<string, Destination>();
  private scheduled = false;

  constructor(
    private readonly client: Redis,
    private readonly maxBatchSize: number,
  ) {}

  send(stream: string, delayed: string, nomk: boolean, units: readonly Unit[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const call: Call = { remaining: units.length, error: undefined, resolve, reject };
      let dest = this.pending.get(stream);
      if (!dest) {
        dest = { stream, delayed, nomk, units: [] };
        this.pending.set(stream, dest);
      }
      for (const unit of units) dest.units.push({ unit, call });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const pending = this.pending;
    this.pending = new Map();
    for (const dest of pending.values()) {
      let chunk: Queued[] = [];
      let count = 0;
      let bytes = 0;
      for (const q of dest.units) {
        if (
          chunk.length > 0 &&
          (count + q.unit.count > this.maxBatchSize || bytes + q.unit.buf.length > CHUNK_BYTES)
        ) {
          this.write(dest, chunk);
          chunk = [];
          count = 0;
          bytes = 0;
        }
        chunk.push(q);
        count += q.unit.count;
        bytes += q.unit.buf.length;
      }
      if (chunk.length > 0) this.write(dest, chunk);
    }
  }

  private write(dest: Destination, chunk: Queued[]): void {
    const batch = joinBatches(chunk.map((q) => q.unit));
    const settle = (error: unknown) => {
      for (const { call } of chunk) {
        if (error !== undefined && call.error === undefined) call.error = error;
        if (--call.remaining === 0) {
          if (call.error === undefined) call.resolve();
          else call.reject(call.error);
        }
      }
    };
    runScript(this.client, "omnibusSend", [dest.stream, dest.delayed], [dest.nomk ? "1" : "0", batch]).then(
      () => settle(undefined),
      (error: unknown) => settle(error ?? new Error("send failed")),
    );
  }
}
