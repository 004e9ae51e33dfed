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

  /** @param start - a commit point known before the first record (a new group's start offset). */
  constructor(start?: number) {
    this.next = start;
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
    return entry;
  }

  /** Mark an entry settled and move the commit point over every settled entry at the front. */
  settle(entry: Entry): void {
    entry.settled = true;
    const entries = this.entries;
    let head = this.head;
    while (head < entries.length && entries[head]!.settled) {
      this.next = entries[head]!.offset + 1;
      head++;
    }
    if (head === entries.length) {
      this.entries = [];
      this.head = 0;
    } else if (head > 1024 && head * 2 > entries.length) {
      this.entries = entries.slice(head);
      this.head = 0;
    } else {
      this.head = head;
    }
  }

  /** The offset to commit: the next record to read if this consumer stopped now. */
  commitPoint(): number | undefined {
    return this.head < this.entries.length ? this.entries[this.head]!.offset : this.next;
  }
}
