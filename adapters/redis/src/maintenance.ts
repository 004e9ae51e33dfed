import type { RedisClient } from "./client.js";
import { runScript } from "./commands.js";
import type { Schedule } from "./keys.js";
import type { ResolvedOptions } from "./options.js";

/** Most scheduled messages one promote call moves. */
const PROMOTE_BATCH = 200;
/** A consumer with nothing pending and idle this long is removed from its group. */
const CONSUMER_FORGET_MS = 3_600_000;

/**
 * The per-client background work, on the client's main (non-blocking) connection:
 *
 * - the delay poller: moves due entries of the schedules of the streams this client consumes into
 *   their streams (one atomic Lua call per schedule); it wakes exactly when something this client
 *   scheduled falls due, and every `delayPollMs` for what other clients scheduled;
 * - the trimmer: every `trimIntervalMs`, trims acknowledged entries off the streams this client
 *   consumes or publishes to, and keeps ephemeral queues from expiring while their client lives.
 */
export class Maintenance {
  private readonly schedules = new Map<string, { schedule: Schedule; refs: number }>();
  private readonly streams = new Map<string, { queue: boolean; refs: number }>();
  private readonly ephemeral = new Map<string, number>();
  private promoteTimer: NodeJS.Timeout | undefined;
  private promoteAt = Number.POSITIVE_INFINITY;
  private promoting = false;
  private trimTimer: NodeJS.Timeout | undefined;
  private trimming = false;
  private closed = false;

  constructor(
    private readonly client: RedisClient,
    private readonly options: ResolvedOptions,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Promote the schedules of a consumed source from now on. */
  addSchedules(schedules: readonly Schedule[]): void {
    for (const schedule of schedules) {
      const entry = this.schedules.get(schedule.delayed);
      if (entry) entry.refs++;
      else this.schedules.set(schedule.delayed, { schedule, refs: 1 });
    }
    this.wake(0);
  }

  removeSchedules(schedules: readonly Schedule[]): void {
    for (const schedule of schedules) {
      const entry = this.schedules.get(schedule.delayed);
      if (entry && --entry.refs === 0) this.schedules.delete(schedule.delayed);
    }
  }

  /** Something this client scheduled on `delayed` falls due in `delayMs`. */
  scheduled(delayed: string, delayMs: number): void {
    if (this.schedules.has(delayed)) this.wake(delayMs);
  }

  /**
   * Trim `stream` from now on. `sticky` streams (topics this client publishes to) stay registered
   * until the client closes.
   */
  addStream(stream: string, queue: boolean, sticky = false): void {
    if (this.options.trim === "none") return;
    const entry = this.streams.get(stream);
    if (entry) {
      if (!sticky) entry.refs++;
    } else this.streams.set(stream, { queue, refs: sticky ? Number.POSITIVE_INFINITY : 1 });
    this.startTrimmer();
  }

  hasStream(stream: string): boolean {
    return this.options.trim === "none" || this.streams.has(stream);
  }

  removeStream(stream: string): void {
    const entry = this.streams.get(stream);
    if (entry && --entry.refs <= 0) this.streams.delete(stream);
  }

  /** Keep `keys` (an ephemeral queue's) alive while this client runs. */
  addEphemeral(keys: readonly string[]): void {
    for (const key of keys) this.ephemeral.set(key, (this.ephemeral.get(key) ?? 0) + 1);
    this.startTrimmer();
  }

  removeEphemeral(keys: readonly string[]): void {
    for (const key of keys) {
      const n = (this.ephemeral.get(key) ?? 0) - 1;
      if (n <= 0) this.ephemeral.delete(key);
      else this.ephemeral.set(key, n);
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.promoteTimer);
    clearInterval(this.trimTimer);
    this.promoteTimer = undefined;
    this.trimTimer = undefined;
  }

  /** Run the poller within `delayMs` (sooner if it was already due sooner). */
  wake(delayMs: number): void {
    if (this.closed || this.schedules.size === 0) return;
    const at = Date.now() + Math.max(0, delayMs);
    if (at >= this.promoteAt) return;
    clearTimeout(this.promoteTimer);
    this.promoteAt = at;
    this.promoteTimer = setTimeout(() => void this.promote(), Math.max(0, delayMs));
    this.promoteTimer.unref();
  }

  private async promote(): Promise<void> {
    this.promoteTimer = undefined;
    this.promoteAt = Number.POSITIVE_INFINITY;
    if (this.closed) return;
    if (this.promoting) {
      this.wake(5);
      return;
    }
    this.promoting = true;
    let next = this.options.delayPollMs;
    try {
      const schedules = [...this.schedules.values()].map((e) => e.schedule);
      const replies = await Promise.all(
        schedules.map(
          (s) =>
            runScript(this.client, "omnibusPromote", [s.delayed, s.stream], [PROMOTE_BATCH]) as Promise<
              [string, string]
            >,
        ),
      );
      for (const [moved, until] of replies) {
        if (Number(moved) >= PROMOTE_BATCH) next = 0;
        const ms = Number(until);
        if (ms >= 0 && ms < next) next = ms;
      }
    } catch (error) {
      this.onError(error);
      next = Math.max(next, 100);
    } finally {
      this.promoting = false;
    }
    this.wake(next);
  }

  private startTrimmer(): void {
    if (this.trimTimer || this.closed) return;
    const interval = Math.min(this.options.trimIntervalMs, Math.floor(this.options.ephemeralTtlMs / 3));
    this.trimTimer = setInterval(() => void this.trim(), interval);
    this.trimTimer.unref();
  }

  private async trim(): Promise<void> {
    if (this.trimming || this.closed) return;
    this.trimming = true;
    try {
      const work: Promise<unknown>[] = [];
      for (const [stream, { queue }] of this.streams) {
        work.push(
          runScript(
            this.client,
            "omnibusTrim",
            [stream],
            [queue ? "1" : "0", this.options.keepAcked, CONSUMER_FORGET_MS],
          ),
        );
      }
      for (const key of this.ephemeral.keys()) {
        work.push(this.client.pexpire(key, this.options.ephemeralTtlMs));
      }
      const results = await Promise.allSettled(work);
      for (const r of results) if (r.status === "rejected") this.onError(r.reason);
    } finally {
      this.trimming = false;
    }
  }

  /** Run one trim pass now (tests). */
  async trimNow(): Promise<void> {
    await this.trim();
  }
}
