/**
 * One consumer of one destination: a claim loop woken by `NOTIFY` (through the adapter's
 * listener), by its own settlements, and by a timer (the poll fallback, or the moment the next
 * delayed message or expiring lease of the destination becomes visible); a lease timer that
 * extends what it holds every third of the lease and marks stale what it lost.
 * @module
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "@omnibus/core";
import type { ConsumeOptions, ConsumerHandle, Delivery, InboundMessage } from "@omnibus/core/adapter";
import { backoff, GroupCommit, settleOnce } from "@omnibus/core/adapter";
import type { Pool } from "pg";
import * as sql from "./sql.js";

/** What a consumer needs from its adapter. */
export interface ConsumerContext {
  readonly pool: Pool;
  readonly schema: string;
  readonly channel: string;
  readonly leaseMs: number;
  readonly pollMs: number;
  readonly orderingByKey: boolean;
  /** The database clock minus ours, in ms (measured at connect), for {@link sql.nextVisible}. */
  readonly clockOffsetMs: () => number;
  readonly logger: () => Logger;
  /** Called once the consumer closed (the adapter forgets it). */
  readonly onClosed: (consumer: PostgresConsumer) => void;
}

interface Held {
  stale: boolean;
}

/** Largest claim in one statement. */
const MAX_CLAIM = 256;

/** A running consumer of one `dest`. */
export class PostgresConsumer implements ConsumerHandle {
  readonly owner = randomUUID();
  readonly #held = new Map<string, Held>();
  readonly #acks: GroupCommit<string, string>;
  #running = true;
  #closed = false;
  #woken = false;
  #wake: (() => void) | undefined;
  readonly #loop: Promise<void>;
  readonly #leaseTimer: NodeJS.Timeout;

  constructor(
    readonly dest: string,
    readonly ephemeral: boolean,
    readonly ctx: ConsumerContext,
    readonly options: ConsumeOptions,
  ) {
    const s = ctx.schema;
    this.#acks = new GroupCommit<string, string>({
      maxItems: 1000,
      write: async (owner, seqs) => {
        await ctx.pool.query(sql.ack(s), [seqs, owner]);
      },
    });
    this.#leaseTimer = setInterval(() => void this.#extend(), Math.max(50, Math.floor(ctx.leaseMs / 3)));
    this.#leaseTimer.unref();
    this.#loop = this.#run();
  }

  /** Look again now (a NOTIFY for this destination, a settlement). */
  wake(): void {
    this.#woken = true;
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  async #sleep(ms: number): Promise<void> {
    if (this.#woken || !this.#running) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async #run(): Promise<void> {
    const s = this.ctx.schema;
    const claimSql = sql.claim(s, this.ctx.orderingByKey);
    let retry: Generator<number, never> | undefined;
    while (this.#running) {
      let credit = this.options.prefetch - this.#held.size;
      if (credit <= 0) {
        this.#woken = false;
        await this.#sleep(this.ctx.pollMs);
        continue;
      }
      // A claim scans the destination's head: with deliveries in flight and little credit, let
      // the acks of a burst gather for 2 ms rather than claiming a row or two per ack.
      if (this.#held.size > 0 && credit < Math.min(32, Math.ceil(this.options.prefetch / 4))) {
        await new Promise((resolve) => setTimeout(resolve, 2));
        if (!this.#running) break;
        credit = this.options.prefetch - this.#held.size;
        if (credit <= 0) continue;
      }
      this.#woken = false;
      const ask = Math.min(credit, MAX_CLAIM);
      let rows: sql.MessageRow[];
      // When the claim started, on the database's clock, 50 ms early to absorb the measurement's error.
      const claimedAt = Date.now() + this.ctx.clockOffsetMs() - 50;
      try {
        rows = (
          await this.ctx.pool.query<sql.MessageRow>(claimSql, [this.dest, ask, this.ctx.leaseMs, this.owner])
        ).rows;
      } catch (error) {
        if (!this.#running) break;
        this.ctx.logger().warn("postgres: claim failed; retrying", { dest: this.dest, error: String(error) });
        this.#woken = false;
        retry ??= backoff({ initialMs: 100, maxMs: 2_000 });
        await this.#sleep(retry.next().value);
        continue;
      }
      retry = undefined;
      if (!this.#running) {
        // Stopped while claiming: what came back was never handed out.
        if (rows.length > 0) await this.#giveBack(rows.map((r) => r.seq));
        break;
      }
      rows.sort((a, b) => b.priority - a.priority || Number(BigInt(a.seq) - BigInt(b.seq)));
      for (const row of rows) this.#deliver(row);
      if (rows.length < ask) {
        let wait = this.ctx.pollMs;
        try {
          const next = await this.ctx.pool.query<{ ms: number | null }>(sql.nextVisible(s), [
            this.dest,
            claimedAt,
          ]);
          const ms = next.rows[0]?.ms;
          if (ms !== null && ms !== undefined) wait = Math.max(1, Math.min(wait, Math.ceil(ms)));
        } catch {
          // the next claim reports a lost connection
        }
        await this.#sleep(wait);
      }
    }
  }

  #deliver(row: sql.MessageRow): void {
    const old = this.#held.get(row.seq);
    if (old) old.stale = true; // our lease lapsed and we claimed it again: the old delivery is void
    const held: Held = { stale: false };
    this.#held.set(row.seq, held);
    const message: InboundMessage = {
      id: row.id,
      body: new Uint8Array(row.body.buffer, row.body.byteOffset, row.body.byteLength),
      headers: JSON.parse(row.headers) as Record<string, string>,
      key: row.key ?? undefined,
      correlationId: row.correlation_id ?? undefined,
      replyTo: row.reply_to ?? undefined,
      timestamp: Number(row.ts),
      attempt: row.attempt,
      native: row,
    };
    const done = () => {
      if (this.#held.get(row.seq) === held) this.#held.delete(row.seq);
      this.wake();
    };
    const delivery: Delivery = settleOnce(message, {
      stale: () => held.stale || this.#closed,
      ack: async () => {
        // Settled now: the slot is free at once (the row stays ours, leased, until the batched
        // DELETE commits; if that fails, the lease runs out and the message comes again).
        done();
        await this.#acks.add(this.owner, [row.seq]);
      },
      nack: async (o) => {
        try {
          await this.ctx.pool.query(sql.nack(this.ctx.schema), [
            row.seq,
            this.owner,
            o?.delayMs ?? 0,
            this.ctx.channel,
          ]);
        } finally {
          done();
        }
      },
    });
    this.options.onDelivery(delivery);
  }

  async #extend(): Promise<void> {
    if (this.#closed || this.#held.size === 0) return;
    const seqs = [...this.#held.keys()];
    try {
      const { rows } = await this.ctx.pool.query<{ seq: string }>(sql.extend(this.ctx.schema), [
        this.owner,
        seqs,
        this.ctx.leaseMs,
      ]);
      const kept = new Set(rows.map((r) => r.seq));
      for (const seq of seqs) {
        if (kept.has(seq)) continue;
        const held = this.#held.get(seq);
        if (!held) continue; // settled meanwhile
        held.stale = true; // the lease was lost: another consumer may have it now
        this.#held.delete(seq);
      }
      if (kept.size < seqs.length) this.wake();
    } catch (error) {
      this.ctx.logger().warn("postgres: lease extension failed", { dest: this.dest, error: String(error) });
    }
  }

  async #giveBack(seqs: string[]): Promise<void> {
    await this.ctx.pool
      .query(sql.releaseSeqs(this.ctx.schema), [this.owner, seqs, this.ctx.channel])
      .catch(() => {});
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.wake();
    await this.#loop;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.stop();
    this.#closed = true;
    clearInterval(this.#leaseTimer);
    const s = this.ctx.schema;
    try {
      if (this.ephemeral) await this.ctx.pool.query(`DELETE FROM ${s}.messages WHERE dest = $1`, [this.dest]);
      else if (this.#held.size > 0)
        await this.ctx.pool.query(sql.releaseOwner(s), [
          this.owner,
          [...this.#held.keys()],
          this.ctx.channel,
        ]);
    } catch (error) {
      // The leases expire: the broker redelivers them anyway.
      this.ctx.logger().warn("postgres: could not give back unsettled messages", {
        dest: this.dest,
        error: String(error),
      });
    }
    for (const held of this.#held.values()) held.stale = true;
    this.#held.clear();
    this.ctx.onClosed(this);
  }
}
