import type { Range } from "./ledger.js";

/** One fetched record this consumer is responsible for until it is settled. */
export interface Entry {
  readonly offset: number;
  /** Handed to core (counts against prefetch); false while it waits for its due time. */
  delivered: boolean;
  settled: boolean;
}

/**
 * The offsets of one partition that were fetched and not yet settled, in fetch order. The commit
 * point is the lowest unsettled offset (or one past the last settled one), so concurrent handlers
 * never commit past a message that is still being worked on.
 */
export class PartitionTracker {
  private entries: Entry[] = [];
  private head = 0;
  /** Commit point when nothing is outstanding. */
  private next: number | undefined;
  /** Highest offset ever tracked. */
  private highest: number | undefined;
  /** Lowest offset this tracker is responsible for: its start, or the first one tracked. */
  private lowest: number | undefined;
  /** Settled entries from `head` on (all above the commit point). */
  private settledAbove = 0;

  /** @param start - a commit point known before the first record (a new group's start offset). */
  constructor(start?: number) {
    this.next = start;
    this.lowest = start;
  }

  /** Highest offset tracked so far, if any. */
  get last(): number | undefined {
    return this.highest;
  }

  /** Number of tracked, unsettled entries. */
  get outstanding(): number {
    return this.entries.length - this.head;
  }

  /** Start tracking a record. Offsets must increase. */
  track(offset: number): Entry {
    const entry: Entry = { offset, delivered: false, settled: false };
    this.entries.push(entry);
    this.highest = offset;
    this.lowest ??= offset;
    return entry;
  }

  /** The entries tracked and not settled yet, in offset order. */
  unsettled(): Entry[] {
    const out: Entry[] = [];
    for (let i = this.head; i < this.entries.length; i++)
      if (!this.entries[i]!.settled) out.push(this.entries[i]!);
    return out;
  }

  /**
   * Every offset settled here, as sorted ranges: the whole stretch below the commit point (from
   * the first offset this tracker had) and the settled records above it. What a later owner of the
   * partition in this process need not deliver again, whatever the broker's committed offset is.
   */
  settledAll(): Range[] {
    const above = this.settledRanges();
    const point = this.commitPoint();
    if (this.lowest === undefined || point === undefined || point <= this.lowest) return above;
    // The commit point itself is unsettled (or the next record): the ranges stay apart.
    return [[this.lowest, point - 1], ...above];
  }

  /** Mark an entry settled and move the commit point over every settled entry at the front. */
  settle(entry: Entry): void {
    if (entry.settled) return;
    entry.settled = true;
    this.settledAbove++;
    const entries = this.entries;
    let head = this.head;
    while (head < entries.length && entries[head]!.settled) {
      this.next = entries[head]!.offset + 1;
      head++;
      this.settledAbove--;
    }
    if (head === entries.length) {
      this.entries = [];
      this.head = 0;
      this.settledAbove = 0;
    } else if (head > 1024 && head * 2 > entries.length) {
      this.entries = entries.slice(head);
      this.head = 0;
    } else {
      this.head = head;
    }
  }

  /**
   * Settled records above the commit point, as sorted ranges (at most `limit`, the lowest):
   * records the next owner of the partition must not deliver again. Consecutive entries are
   * consecutive records (offsets between them hold no record), so a range may span such gaps.
   */
  settledRanges(limit = Number.POSITIVE_INFINITY): Range[] {
    const out: Range[] = [];
    if (this.settledAbove === 0) return out;
    let first: number | undefined;
    let last = 0;
    for (let i = this.head; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      if (e.settled) {
        first ??= e.offset;
        last = e.offset;
      } else if (first !== undefined) {
        out.push([first, last]);
        first = undefined;
        if (out.length >= limit) return out;
      }
    }
    if (first !== undefined) out.push([first, last]);
    return out;
  }

  /** The offset to commit: the next record to read if this consumer stopped now. */
  commitPoint(): number | undefined {
    return this.head < this.entries.length ? this.entries[this.head]!.offset : this.next;
  }
}
