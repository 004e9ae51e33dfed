import { randomBytes } from "node:crypto";
import type { ConsumeOptions, ConsumerHandle, Delivery, InboundMessage } from "@omnibus/core";
import { ConnectionError } from "@omnibus/core";
import { ReplyError } from "ioredis";
import type { Acker } from "./acker.js";
import { isCluster, type RedisClient } from "./client.js";
import { decodeFields } from "./codec.js";
import { runScript } from "./commands.js";
import type { Scrubber } from "./errors.js";
import type { SourceKeys } from "./keys.js";
import type { Maintenance } from "./maintenance.js";
import type { ResolvedOptions } from "./options.js";
import { type StreamEntry, streamsOf } from "./replies.js";
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
  /** When it was read (its reply arrived) or its lease last renewed. */
  since: number;
}

/** An entry handed to core and not yet settled. */
interface Held {
  readonly stream: string;
  readonly id: string;
  readonly count: number;
  readonly attempt: number;
  /** When its lease was last renewed (or it was delivered). */
  since: number;
  /**
   * Another consumer of the group has claimed the entry (this consumer's lease on it lapsed): it is
   * that consumer's now, and its slot here was freed.
   */
  stale: boolean;
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

  /**
   * Another consumer of the group took the message over (this consumer's lease on it lapsed while
   * Redis was unreachable): core does not start it; the other consumer delivers it. A connection
   * loss alone does not make a delivery stale: entries are settled by id on whatever connection is
   * up, and the pending entries list keeps them for this consumer across reconnections (and, with
   * AOF, restarts).
   */
  get stale(): boolean {
    return this.held.stale;
  }

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
  /** Deliveries handed to core and not settled, by stream and entry id. */
  private readonly held = new Map<string, Map<string, Held>>();
  /** Entries being nacked, by stream (their nack script is on its way). */
  private readonly nacking = new Map<string, Set<string>>();
  /**
   * Set when a connection of this consumer closed: a read or claim whose reply was lost with it may
   * have left entries in this consumer's pending list that it never got. The loop then compares the
   * list with what it holds before reading on (see {@link StreamConsumer.recover}).
   */
  private rescan = false;
  /** A connection closed since the last recovery: other consumers are reconnecting too. */
  private reconnected = false;
  private renewing = false;
  private renewFailing = false;
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
    for (const stream of keys.streams) {
      this.held.set(stream, new Map());
      this.nacking.set(stream, new Set());
    }
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
    // From now on, a closed blocking connection means a read's reply may have been lost (the
    // adapter reports its main connection, with claims, acks and nacks, the same way).
    for (const event of ["close", "-node"]) this.blocking.on(event, this.onConnectionClosed);
    this.blocking.on("ready", this.onConnectionReady);
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

  /**
   * A connection of this consumer closed (its blocking connection, or the adapter's main one):
   * recover what a lost reply may have carried once connected again.
   */
  readonly onConnectionClosed = (): void => {
    this.rescan = true;
    this.reconnected = true;
  };

  /** Connected again: wake the loop (it may be backing off after failed reads). */
  readonly onConnectionReady = (): void => {
    if (this.running) this.wake();
  };

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
        if (this.rescan && free > 0 && this.ctx.client.status === "ready") {
          // A connection closed since the last read: entries read or claimed for this consumer
          // whose reply was lost are still pending for it. Take them back now, not after
          // claimIdleMs, before reading new ones.
          await this.recover(free);
          this.dispatch();
          free = this.prefetch - this.unsettled - this.buffer.length;
        }
        if (free > 0 && Date.now() >= this.nextClaimAt) {
          await this.claim(free);
          this.dispatch();
          free = this.prefetch - this.unsettled - this.buffer.length;
        }
        if (free <= 0 || (free < this.lowWater && this.unsettled > 0)) {
          await this.waitForSlots(Math.max(1, this.nextClaimAt - Date.now()));
          continue;
        }
        // A list of [stream, entries] pairs on RESP2; a map on RESP3 (see replies.ts).
        const reply = await this.blocking.callBuffer(
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
        );
        failures = 0;
        if (reply) this.ingest(streamsOf(reply));
        if (this.running) this.dispatch();
      } catch (error) {
        if (!this.running) break;
        // Whatever failed may have been executed without its reply arriving.
        this.rescan = true;
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

  private ingest(reply: [Buffer | string, StreamEntry[]][]): void {
    const now = Date.now();
    for (const [streamKey, entries] of reply) {
      const stream = streamKey.toString();
      for (const [idBuf, fields] of entries) {
        const id = idBuf.toString();
        if (fields === null) {
          // Deleted entry still pending: nothing to deliver.
          this.ctx.acker.ack(stream, this.keys.group, id);
          continue;
        }
        // Read again while its delivery is being handled (Redis lost the read's effect, as with
        // AOF `everysec`): the delivery in hand settles it.
        if (this.held.get(stream)?.has(id)) continue;
        this.buffer.push({ stream, id, fields, count: 1, since: now });
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
        this.buffer.push({ stream, id, fields, count: Number(count), since: Date.now() });
        free--;
      }
    }
    this.nextClaimAt = Date.now() + (more ? 0 : options.claimIntervalMs);
  }

  private isHeld(stream: string, id: string): boolean {
    return this.held.get(stream)?.has(id) === true;
  }

  /**
   * After a connection closed: compare this consumer's pending entries list with what it holds
   * (one script per stream). Entries pending for it that it neither holds nor is settling were
   * read or claimed for it by a command whose reply was lost: they are claimed again at once (a new
   * delivery, `attempt + 1`) instead of waiting `claimIdleMs` for `XAUTOCLAIM`. What it holds has
   * its lease renewed; what another consumer claimed meanwhile becomes stale. Other consumers'
   * entries are not claimed for one `claimIntervalMs`, so that their consumers, reconnecting too,
   * renew their leases first.
   */
  private async recover(free: number): Promise<void> {
    this.rescan = false;
    let more = false;
    try {
      for (const stream of this.keys.streams) {
        const keep = this.heldIds(stream);
        const skip = [...this.ctx.acker.unconfirmed(stream, this.keys.group), ...this.nacking.get(stream)!];
        const claimed = await this.own(stream, keep, skip, Math.max(0, free));
        for (const [idBuf, fields, count] of claimed.entries) {
          const id = idBuf.toString();
          if (this.isHeld(stream, id)) continue;
          this.buffer.push({ stream, id, fields, count: Number(count), since: Date.now() });
          free--;
        }
        if (claimed.more) more = true;
      }
    } catch (error) {
      this.rescan = true;
      throw error;
    }
    if (more) this.rescan = true;
    if (this.reconnected) {
      this.reconnected = false;
      this.nextClaimAt = Math.max(this.nextClaimAt, Date.now() + this.ctx.options.claimIntervalMs);
    }
  }

  /** Ids of `stream` this consumer holds: delivered and unsettled, or read and not handed out. */
  private heldIds(stream: string): string[] {
    const ids = [...this.held.get(stream)!.keys()];
    for (const r of this.buffer) if (r.stream === stream) ids.push(r.id);
    return ids;
  }

  /**
   * Run the ownership script on one stream (see `OWN` in scripts.ts): renew the lease of `keep`,
   * mark those another consumer took as stale, and claim back up to `max` entries pending for this
   * consumer that are neither kept nor in `skip`.
   */
  private async own(
    stream: string,
    keep: readonly string[],
    skip: readonly string[],
    max: number,
  ): Promise<{ more: boolean; entries: [Buffer, Buffer[], number][] }> {
    const [more, entries, lost] = (await runScript(
      this.ctx.client,
      "omnibusOwn",
      [stream],
      [this.keys.group, this.name, max, keep.length, ...keep, ...skip],
      true,
    )) as [number, [Buffer, Buffer[], number][], Buffer[]];
    if (lost.length > 0) this.lost(stream, new Set(lost.map((b) => b.toString())));
    return { more: Number(more) === 1, entries };
  }

  /** Another consumer claimed these entries: stale deliveries (slots freed), dropped from the buffer. */
  private lost(stream: string, ids: ReadonlySet<string>): void {
    const held = this.held.get(stream)!;
    for (const id of ids) {
      const h = held.get(id);
      if (!h) continue;
      h.stale = true;
      this.release(h);
    }
    for (let i = this.buffer.length - 1; i >= 0; i--) {
      const r = this.buffer[i]!;
      if (r.stream === stream && ids.has(r.id)) this.buffer.splice(i, 1);
    }
  }

  /** Hand buffered entries to core while there are free prefetch slots. */
  private dispatch(): void {
    let taken = 0;
    while (taken < this.buffer.length && this.unsettled < this.prefetch && this.running) {
      const read = this.buffer[taken++]!;
      const held = this.held.get(read.stream)!;
      // Read twice (a claim and a read, or a recovery, returned it): one delivery is enough.
      if (held.has(read.id)) continue;
      const decoded = decodeFields(read.id, read.fields);
      const attempt = decoded.prior + read.count;
      const h: Held = {
        stream: read.stream,
        id: read.id,
        count: read.count,
        attempt,
        since: read.since,
        stale: false,
      };
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
      const delivery = new RedisDelivery(this, h, message);
      held.set(read.id, h);
      this.unsettled++;
      this.consume.onDelivery(delivery);
    }
    if (taken > 0) this.buffer.splice(0, taken);
  }

  /**
   * Ack a delivery (batched with the other acks of this event-loop turn). A stale one is acked too:
   * its handler finished, so the consumer that took it over has nothing left to do.
   */
  ack(held: Held): Promise<void> {
    if (!held.stale) this.release(held);
    this.ctx.acker.ack(held.stream, this.keys.group, held.id);
    return RESOLVED;
  }

  /**
   * Nack a delivery: re-added (now or after `delayMs`) and acked in one atomic script (which does
   * nothing when the entry is another consumer's by now).
   */
  async nack(held: Held, delayMs: number): Promise<void> {
    if (!held.stale) this.release(held);
    const nacking = this.nacking.get(held.stream)!;
    nacking.add(held.id);
    try {
      await this.renack(held, delayMs);
    } finally {
      nacking.delete(held.id);
    }
  }

  /** A delivery was settled (or went stale): free its slot. */
  private release(held: Held): void {
    if (!this.held.get(held.stream)!.delete(held.id)) return;
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
   * resets their idle time without counting a delivery; in the ownership script, so that an entry
   * another consumer claimed meanwhile (this lease lapsed) is not taken back but becomes stale.
   *
   * While renewals fail (Redis unreachable), a lease that may lapse before the next renewal could
   * (older than `claimIdleMs − renewMs`) is given up: its delivery becomes stale, so core does not
   * start it while another consumer may be claiming it. Nothing is lost: whoever claims the entry
   * delivers it, another consumer after `claimIdleMs` or this one on reconnecting (`recover`).
   */
  private async renew(renewMs: number): Promise<void> {
    const now = Date.now();
    // Checked on every tick: a renewal waiting for a reconnection (queued by ioredis) renews nothing.
    if (this.renewFailing || this.ctx.client.status !== "ready") {
      this.expire(now - (this.ctx.options.claimIdleMs - renewMs));
    }
    // Also after stop(): deliveries in hand stay valid until close().
    if (this.renewing) return;
    this.renewing = true;
    const byStream = new Map<string, { held: Held[]; reads: Read[] }>();
    for (const [stream, held] of this.held) {
      const due: Held[] = [];
      for (const h of held.values()) if (now - h.since >= renewMs) due.push(h);
      const reads = this.buffer.filter((r) => r.stream === stream);
      if (due.length > 0 || reads.length > 0) byStream.set(stream, { held: due, reads });
    }
    try {
      await Promise.all(
        [...byStream].map(async ([stream, { held, reads }]) => {
          await this.own(stream, [...held.map((h) => h.id), ...reads.map((r) => r.id)], [], 0);
          for (const h of held) h.since = Math.max(h.since, now);
          for (const r of reads) r.since = Math.max(r.since, now);
        }),
      );
      this.renewFailing = false;
    } catch (error) {
      // Tried again on the next tick (and by the loop's recovery once connected again). Only a
      // connection failure puts the leases at risk: a reply error (the group is gone: Redis lost
      // its data) leaves nobody to claim the entries.
      if (!this.renewFailing) this.ctx.log("lease renewal failed; retrying", error);
      this.renewFailing = !(error instanceof ReplyError);
    } finally {
      this.renewing = false;
    }
  }

  /** Give up the leases renewed last before `cutoff`: stale deliveries, buffered entries dropped. */
  private expire(cutoff: number): void {
    let expired = false;
    for (const held of this.held.values()) {
      for (const h of held.values()) {
        if (h.since >= cutoff) continue;
        h.stale = true;
        this.release(h);
        expired = true;
      }
    }
    for (let i = this.buffer.length - 1; i >= 0; i--) {
      if (this.buffer[i]!.since < cutoff) {
        this.buffer.splice(i, 1);
        expired = true;
      }
    }
    // Still pending for this consumer unless another one claims them: taken back on reconnecting.
    if (expired) this.rescan = true;
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
    const unsettled: { stream: string; id: string; count: number }[] = [];
    for (const held of this.held.values()) {
      for (const h of held.values()) unsettled.push({ stream: h.stream, id: h.id, count: h.count });
      held.clear();
    }
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
    for (const event of ["close", "-node"]) this.blocking.off(event, this.onConnectionClosed);
    this.blocking.off("ready", this.onConnectionReady);
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
