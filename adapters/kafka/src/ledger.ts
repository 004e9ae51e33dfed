/**
 * How often each offset of a partition was delivered before, so that a redelivery after a
 * consumer died (or lost its partition) comes with `attempt + 1`. Kafka has no delivery count, so
 * the adapter keeps one in the metadata string of every offset commit: a short list of
 * `(end offset, count)` steps covering the window from the commit point to the last delivered
 * offset. The next owner of the partition reads it back.
 *
 * Counts are a lower bound when a consumer dies within one commit interval of a delivery, and
 * may count a delayed record that was fetched but not yet due as delivered.
 *
 * @module
 */

/** `[end, count]`: offsets up to `end` (and above the previous step's end) were delivered `count` times. */
export type Step = readonly [end: number, count: number];

const PREFIX = "omnibus1;";
const MAX_STEPS = 16;

/** Delivery count of `offset` in `steps`. */
export function countAt(steps: readonly Step[], offset: number): number {
  for (const [end, count] of steps) if (offset <= end) return count;
  return 0;
}

/** Merge neighbours with equal counts. */
function compact(steps: Step[]): Step[] {
  const out: Step[] = [];
  for (const step of steps) {
    const prev = out[out.length - 1];
    if (prev !== undefined && prev[1] === step[1]) out[out.length - 1] = [step[0], step[1]];
    else out.push(step);
  }
  return out;
}

/** Pointwise maximum of two step lists. */
export function maxSteps(a: readonly Step[], b: readonly Step[]): Step[] {
  const ends = [...new Set([...a.map((s) => s[0]), ...b.map((s) => s[0])])].sort((x, y) => x - y);
  return compact(ends.map((end) => [end, Math.max(countAt(a, end), countAt(b, end))] as const));
}

/** Parse commit metadata written by {@link Ledger.encode}; anything else means "no history". */
export function parseSteps(metadata: string | null | undefined): Step[] {
  if (typeof metadata !== "string" || !metadata.startsWith(PREFIX)) return [];
  const steps: Step[] = [];
  for (const part of metadata.slice(PREFIX.length).split(",")) {
    const [end, count] = part.split(":").map(Number);
    if (!Number.isSafeInteger(end) || !Number.isSafeInteger(count) || count! < 1) return [];
    if (steps.length > 0 && end! <= steps[steps.length - 1]![0]) return [];
    steps.push([end!, count!]);
  }
  return steps;
}

/** The delivery history of one partition for one owner (a "session"). */
export class Ledger {
  private sessionMax: number | undefined;

  /** @param prior - deliveries recorded before this session. */
  constructor(private readonly prior: readonly Step[] = []) {}

  /** How many times `offset` was delivered before this session. */
  previous(offset: number): number {
    return countAt(this.prior, offset);
  }

  /** Record a delivery in this session (offsets are delivered in increasing order). */
  delivered(offset: number): void {
    if (this.sessionMax === undefined || offset > this.sessionMax) this.sessionMax = offset;
  }

  /** The full history including this session's deliveries. */
  steps(): Step[] {
    const max = this.sessionMax;
    if (max === undefined) return [...this.prior];
    const out: Step[] = [];
    let split = false;
    for (const [end, count] of this.prior) {
      if (end <= max) out.push([end, count + 1]);
      else {
        if (!split) out.push([max, count + 1]);
        split = true;
        out.push([end, count]);
      }
    }
    if (!split && (out.length === 0 || out[out.length - 1]![0] < max)) out.push([max, 1]);
    return compact(out);
  }

  /** Commit metadata for a commit at `from` (history below it is dropped), or null if none. */
  encode(from: number): string | null {
    let steps = this.steps().filter(([end]) => end >= from);
    while (steps.length > MAX_STEPS) {
      // Merge the two lowest steps (over-counting the lower one a little is safe).
      const [first, second, ...rest] = steps;
      steps = [[second![0], Math.max(first![1], second![1])], ...rest];
    }
    if (steps.length === 0) return null;
    return PREFIX + steps.map(([end, count]) => `${end}:${count}`).join(",");
  }
}
