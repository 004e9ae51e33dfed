import { randomBytes } from "node:crypto";
import type { ConsumeOptions, ConsumerHandle, Delivery, InboundMessage } from "@omnibus/core";
import { ConnectionError } from "@omnibus/core";
import type { Acker } from "./acker.js";
import { isCluster, type RedisClient } from "./client.js";
import { decodeFields } from "./codec.js";
import { runScript } from "./commands.js";
import type { Scrubber } from "./errors.js";
import type { SourceKeys } from "./keys.js";
import type { Maintenance } from "./maintenance.js";
import type { ResolvedOptions } from "./options.js";
import { UID_LENGTH } from "./scripts.js";
import { delay, within } from "./util.js";

/** The `native` of a Redis delivery: where the entry lives. */
export interface RedisNativeMessage {
  /** Stream key the entry was read from. */
  readonly stream: string;
  /** Stream entry id (`<ms>-<seq>`). */
  readonly entryId: string;
  /** Consumer group. */
  readonly group: string;
  /** Consumer name inside the group. */
  readonly consumer: string;
  /** Times the entry was delivered from this stream entry (the PEL delivery count). */
  readonly deliveryCount: number;
}

/** An entry read from Redis, not yet handed to core. */
interface Read {
  readonly stream: string;
  readonly id: string;
  readonly fields: Buffer[];
  /** Delivery count in the pending entries list. */
  readonly count: number;
}

/** An entry handed to core and not yet settled. */
interface Held {
  readonly stream: string;
  readonly id: string;
  readonly count: number;
  readonly attempt: number;
  since: number;
}

const RESOLVED = Promise.resolve();

/** One delivery; a class rather than closures, as one is made for every message. */
class RedisDelivery implements Delivery {
  private settled = false;
  constructor(
    private readonly consumer: StreamConsumer,
    private readonly held: Held,
    readonly message: InboundMessage,
  ) {}

  ack(): Promise<void> {
    if (this.settled) return RESOLVED;
    this.settled = true;
    return this.consumer.ack(this.held);
  }

  nack(options?: { delayMs?: number }): Promise<void> {
    if (this.settled) return RESOLVED;
    this.settled = true;
    return this.consumer.nack(this.held, options?.delayMs ?? 0);
  }
}

/** An idle time that makes a released entry claimable at once by any consumer of the group. */
const RELEASE_IDLE_MS = 365 * 24 * 3_600_000;

let consumerSeq = 0;

/** What the consumer needs from its adapter. */
export interface ConsumerContext {
  readonly client: RedisClient;
  readonly options: ResolvedOptions;
  readonly acker: Acker;
  readonly maintenance: Maintenance;
  /** Makes the errors the consumer keeps as causes safe (no passwords). */
  readonly scrub: Scrubber;
  readonly clientId: string;
  readonly newBlockingClient: () => RedisClient;
  readonly dropBlockingClient: (client: RedisClient) => void;
  readonly ensureGroups: (keys: SourceKeys, recovering: boolean) => Promise<void>;
  readonly log: (message: string, error: unknown) => void;
}

/**
 * One consumer of one source: a blocking `XREADGROUP` loop on its own connection, reading as many
 * entries as there are free prefetch slots, plus `XAUTOCLAIM` of entries whose consumer died.
 */
export class StreamConsumer implements ConsumerHandle {
  readonly name: string;
  private readonly blocking: RedisClient;
  private blockingId: number | undefined;
  private readonly prefetch: number;
  private readonly lowWater: number;
  private running = true;
  private stopping: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private loop: Promise<void> = Promise.resolve();
  private loopEnded = false;
  private unsettled = 0;
  private readonly buffer: Read[] = [];
  private readonly held = new Set<Held>();
  private waiter: (() => void) | undefined;
  private waitingForSlots = false;
  private readonly cursors: string[];
  private nextClaimAt = 0;
  private renewTimer: NodeJS.Timeout | undefined;
  private recovering = false;

  constructor(
    private readonly ctx: ConsumerContext,
    private readonly keys: SourceKeys,
    private readonly consume: ConsumeOptions,
    private readonly ephemeral: boolean,
  ) {
    this.name = `${ctx.clientId}-${++consumerSeq}`;
    this.prefetch = Math.max(1, Math.floor(consume.prefetch));
    // Read only once half the slots are free: fewer, larger reads (the other half keeps core busy).
    this.lowWater = Math.max(1, Math.floor(this.prefetch / 2));
    this.cursors = keys.streams.map(() => "0-0");
    this.blocking = ctx.newBlockingClient();
  }

  /** Connect the blocking connection, create the groups and start reading. */
  async start(): Promise<void> {
    // `CLIENT UNBLOCK` needs the blocking connection's id (it changes on every reconnect). On a
    // cluster the read runs on whichever node owns the slot: stop() waits for it to time out.
    const standalone = !isCluster(this.blocking) ? this.blocking : undefined;
    standalone?.on("ready", () => {
      standalone.client("ID").then(
        (id) => {
          this.blockingId = Number(id);
        },
        () => {},
      );
    });
    this.blocking.on("end", () => {
      if (!this.running) return;
      this.running = false;
      this.wake();
      this.consume.onError(new ConnectionError("redis: consumer connection closed for good"));
    });
    try {
      await this.blocking.connect();
      if (standalone) this.blockingId = Number(await standalone.client("ID"));
      await this.ctx.ensureGroups(this.keys, false);
    } catch (cause) {
      this.ctx.dropBlockingClient(this.blocking);
      throw cause instanceof ConnectionError
        ? cause
        : new ConnectionError(`redis: cannot start consumer: ${this.ctx.scrub.message(cause)}`, {
            cause: this.ctx.scrub.cause(cause),
          });
    }
    const m = this.ctx.maintenance;
    m.addSchedules(this.keys.schedules);
    // Only a topic's main stream may be trimmed while it has no group (nobody reads it then).
    this.keys.streams.forEach((stream, i) => {
      m.addStream(stream, i > 0 || this.keys.startId === "0");
    });
    if (this.ephemeral) {
      const keys = this.ephemeralKeys();
      m.addEphemeral(keys);
      await Promise.all(keys.map((k) => this.ctx.client.pexpire(k, this.ctx.options.ephemeralTtlMs)));
    }
    const renewMs = Math.max(5, Math.floor(this.ctx.options.claimIdleMs / 3));
    this.renewTimer = setInterval(() => void this.renew(renewMs), renewMs);
    this.renewTimer.unref();
    this.loop = this.run().finally(() => {
      this.loopEnded = true;
    });
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  // ---------------------------------------------------------------- reading

  private async run(): Promise<void> {
    const { options } = this.ctx;
    const streams = this.keys.streams;
    const ids = streams.map(() => ">");
    let failures = 0;
    while (this.running) {
      try {
        if (this.recovering) {
          await this.ctx.ensureGroups(this.keys, true);
          this.recovering = false;
        }
        // Entries already read (a read over two streams may return more than there were free
        // slots) go first.
        this.dispatch();
        let free = this.prefetch - this.unsettled - this.buffer.length;
        if (free > 0 && Date.now() >= this.nextClaimAt) {
          await this.claim(free);
          this.dispatch();
          free = this.prefetch - this.unsettled - this.buffer.length;
        }
        if (free <= 0 || (free < this.lowWater && this.unsettled > 0)) {
          await this.waitForSlots(Math.max(1, this.nextClaimAt - Date.now()));
          continue;
        }
        const reply = (await this.blocking.callBuffer(
          "XREADGROUP",
          "GROUP",
          this.keys.group,
          this.name,
          "COUNT",
          free,
          "BLOCK",
          options.blockMs,
          "STREAMS",
          ...streams,
          ...ids,
        )) as [Buffer, [Buffer, Buffer[] | null][]][] | null;
        failures = 0;
        if (reply) this.ingest(reply);
        if (this.running) this.dispatch();
      } catch (error) {
        if (!this.running) break;
        if (isNoGroup(error)) {
          // The stream or group is gone (Redis restarted without persistence, or someone deleted
          // it): create it again and carry on.
          this.recovering = true;
          this.cursors.fill("0-0");
        } else {
          this.ctx.log("consumer read failed; retrying", error);
        }
        failures++;
        await this.sleep(Math.min(2000, 25 * 2 ** Math.min(failures, 7)));
      }
    }
  }

  private ingest(reply: [Buffer, [Buffer, Buffer[] | null][]][]): void {
    for (const [streamKey, entries] of reply) {
      const stream = streamKey.toString();
      for (const [idBuf, fields] of entries) {
        const id = idBuf.toString();
        if (fields === null) {
          // Deleted entry still pending: nothing to deliver.
          this.ctx.acker.ack(stream, this.keys.group, id);
          continue;
        }
        this.buffer.push({ stream, id, fields, count: 1 });
      }
    }
  }

  private async claim(free: number): Promise<void> {
    const { options, client } = this.ctx;
    let more = false;
    for (let i = 0; i < this.keys.streams.length && free > 0; i++) {
      const stream = this.keys.streams[i]!;
      const [cursor, entries] = (await runScript(
        client,
        "omnibusClaim",
        [stream],
        [this.keys.group, this.name, options.claimIdleMs, this.cursors[i]!, free],
        true,
      )) as [Buffer, [Buffer, Buffer[], number][]];
      this.cursors[i] = cursor.toString();
      if (this.cursors[i] !== "0-0") more = true;
      for (const [idBuf, fields, count] of entries) {
        const id = idBuf.toString();
        if (this.isHeld(stream, id)) continue; // ours, still being handled
        this.buffer.push({ stream, id, fields, count: Number(count) });
        free--;
      }
    }
    this.nextClaimAt = Date.now() + (more ? 0 : options.claimIntervalMs);
  }

  private isHeld(stream: string, id: string): boolean {
    for (const h of this.held) if (h.id === id && h.stream === stream) return true;
    return false;
  }

  /** Hand buffered entries to core while there are free prefetch slots. */
  private dispatch(): void {
    const now = Date.now();
    let taken = 0;
    while (taken < this.buffer.length && this.unsettled < this.prefetch && this.running) {
      const read = this.buffer[taken++]!;
      const decoded = decodeFields(read.id, read.fields);
      const attempt = decoded.prior + read.count;
      const held: Held = { stream: read.stream, id: read.id, count: read.count, attempt, since: now };
      const native: RedisNativeMessage = {
        stream: read.stream,
        entryId: read.id,
        group: this.keys.group,
        consumer: this.name,
        deliveryCount: read.count,
      };
      const message: InboundMessage = {
        id: decoded.id,
        body: decoded.body,
        headers: decoded.headers,
        key: decoded.key,
        correlationId: decoded.correlationId,
        replyTo: decoded.replyTo,
        timestamp: decoded.timestamp,
        attempt,
        native,
      };
      const delivery = new RedisDelivery(this, held, message);
      this.held.add(held);
      this.unsettled++;
      this.consume.onDelivery(delivery);
    }
    if (taken > 0) this.buffer.splice(0, taken);
  }

  /** Ack a delivery (batched with the other acks of this event-loop turn). */
  ack(held: Held): Promise<void> {
    this.release(held);
    this.ctx.acker.ack(held.stream, this.keys.group, held.id);
    return RESOLVED;
  }

  /** Nack a delivery: re-added (now or after `delayMs`) and acked in one atomic script. */
  nack(held: Held, delayMs: number): Promise<void> {
    this.release(held);
    return this.renack(held, delayMs);
  }

  /** A delivery was settled: free its slot. */
  private release(held: Held): void {
    this.held.delete(held);
    this.unsettled--;
    if (!this.waitingForSlots) return;
    const free = this.prefetch - this.unsettled - this.buffer.length;
    if (this.buffer.length > 0 || free >= this.lowWater || this.unsettled === 0) this.wake();
  }

  private async renack(held: Held, delayMs: number): Promise<void> {
    const delay = Math.max(0, Math.ceil(delayMs));
    try {
      await runScript(
        this.ctx.client,
        "omnibusNack",
        [held.stream, this.keys.retryStream, this.keys.retryDelayed],
        [
          this.keys.group,
          this.name,
          held.id,
          delay,
          held.attempt,
          randomBytes(UID_LENGTH / 2).toString("hex"),
        ],
      );
    } catch (cause) {
      throw new ConnectionError(`redis: nack failed: ${this.ctx.scrub.message(cause)}`, {
        cause: this.ctx.scrub.cause(cause),
      });
    }
    if (delay > 0) this.ctx.maintenance.scheduled(this.keys.retryDelayed, delay);
  }

  /**
   * Keep the entries this consumer holds from being claimed by others: `XCLAIM … JUSTID` to itself
   * resets their idle time without counting a delivery.
   */
  private async renew(renewMs: number): Promise<void> {
    const now = Date.now();
    const byStream = new Map<string, string[]>();
    const touch = (stream: string, id: string) => {
      const list = byStream.get(stream);
      if (list) list.push(id);
      else byStream.set(stream, [id]);
    };
    for (const h of this.held.values()) {
      if (now - h.since >= renewMs) {
        h.since = now;
        touch(h.stream, h.id);
      }
    }
    for (const r of this.buffer) touch(r.stream, r.id);
    if (byStream.size === 0) return;
    const pipeline = this.ctx.client.pipeline();
    for (const [stream, list] of byStream) {
      pipeline.xclaim(stream, this.keys.group, this.name, 0, ...list, "JUSTID");
    }
    await pipeline.exec().catch((error) => this.ctx.log("lease renewal failed", error));
  }

  // ---------------------------------------------------------------- waiting

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  private waitForSlots(maxMs: number): Promise<void> {
    this.waitingForSlots = true;
    return this.sleep(maxMs).finally(() => {
      this.waitingForSlots = false;
    });
  }

  /** Sleep up to `ms`, or until woken (by a settle or stop). */
  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      const prev = this.waiter;
      this.waiter = done;
      function done() {
        clearTimeout(timer);
        resolve();
        prev?.();
      }
    });
  }

  // ---------------------------------------------------------------- shutdown

  private async doStop(): Promise<void> {
    this.running = false;
    this.wake();
    // Unblock the pending XREADGROUP (entries it already took come back and are released below).
    // When Redis is unreachable there is nothing to wait for: drop the blocking connection.
    const deadline = Date.now() + this.ctx.options.blockMs * 2 + 1000;
    while (!this.loopEnded) {
      if (Date.now() > deadline || this.blocking.status !== "ready" || this.ctx.client.status !== "ready") {
        this.blocking.disconnect();
        // A read queued while disconnected may never settle; its entries, if any, are reclaimed
        // by the group after claimIdleMs.
        await within(this.loop, 500);
        break;
      }
      if (this.blockingId !== undefined) {
        await within(this.ctx.client.client("UNBLOCK", this.blockingId), 200);
      }
      await Promise.race([this.loop, delay(20)]);
    }
    const buffered = this.buffer.splice(0);
    await this.whenUp(() =>
      this.releaseEntries(buffered.map((r) => ({ stream: r.stream, id: r.id, count: r.count - 1 }))),
    );
  }

  private async doClose(): Promise<void> {
    await this.stop();
    clearInterval(this.renewTimer);
    await this.whenUp(() => this.ctx.acker.flush());
    // Deliveries not settled by now are treated as if this consumer had died: next attempt.
    const unsettled = [...this.held.values()].map((h) => ({ stream: h.stream, id: h.id, count: h.count }));
    this.held.clear();
    await this.whenUp(() => this.releaseEntries(unsettled));
    const m = this.ctx.maintenance;
    m.removeSchedules(this.keys.schedules);
    for (const stream of this.keys.streams) m.removeStream(stream);
    if (this.ephemeral) m.removeEphemeral(this.ephemeralKeys());
    await this.whenUp(() =>
      (this.ephemeral
        ? this.ctx.client.del(...this.ephemeralKeys())
        : runScript(this.ctx.client, "omnibusForgetConsumer", this.keys.streams, [this.keys.group, this.name])
      ).catch((error) => this.ctx.log("consumer cleanup failed", error)),
    );
    this.ctx.dropBlockingClient(this.blocking);
  }

  /**
   * A cleanup step of stop/close: skipped when Redis is unreachable (the group gets the messages
   * back after claimIdleMs anyway; an ephemeral queue expires), and bounded in time.
   */
  private async whenUp(step: () => Promise<unknown>): Promise<void> {
    if (this.ctx.client.status !== "ready") return;
    await within(step(), CLEANUP_MS);
  }

  /**
   * Give entries back to the group: make them claimable by any consumer at once, with the delivery
   * count set so that the next claim (which adds one) yields the right attempt.
   */
  private async releaseEntries(entries: { stream: string; id: string; count: number }[]): Promise<void> {
    if (entries.length === 0) return;
    const pipeline = this.ctx.client.pipeline();
    for (const e of entries) {
      pipeline.xclaim(
        e.stream,
        this.keys.group,
        this.name,
        0,
        e.id,
        "IDLE",
        RELEASE_IDLE_MS,
        "RETRYCOUNT",
        Math.max(0, e.count),
        "JUSTID",
      );
    }
    await pipeline.exec().catch((error) => this.ctx.log("releasing messages failed", error));
  }

  private ephemeralKeys(): string[] {
    return [...this.keys.streams, ...this.keys.schedules.map((s) => s.delayed)];
  }
}

function isNoGroup(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith("NOGROUP");
}

/** How long each cleanup step of stop/close may take when Redis does not answer (it is down). */
const CLEANUP_MS = 2000;
