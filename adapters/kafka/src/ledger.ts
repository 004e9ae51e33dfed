/**
 * What the next owner of a partition must know about the records above the commit point, kept in
 * the metadata string of every offset commit (Kafka has no delivery count and commits a single
 * offset per partition):
 *
 * - **How often each offset was delivered before**, so that a redelivery after a consumer died
 *   (or lost its partition) comes with `attempt + 1`: a short list of `(end offset, count)` steps
 *   covering the window from the commit point to the last delivered offset.
 * - **Which offsets above the commit point were already settled.** The commit point is the lowest
 *   unsettled offset, so a record acked while an earlier one is still being worked on is not
 *   covered by it; without this list the next owner would deliver it again. The list is bounded
 *   ({@link MAX_SETTLED_RANGES} ranges, relative to the commit point): past it, the highest
 *   settled records are left out and delivered again (at least once, never lost).
 *
 * Format: `omnibus2;<commit offset>;<end>:<count>,…;<from>-<to>,<single>,…` (settled offsets
 * relative to the commit offset). `omnibus1;<end>:<count>,…` (steps only) is still read.
 *
 * Counts are a lower bound when a consumer dies within one commit interval of a delivery, and
 * may count a delayed record that was fetched but not yet due as delivered.
 *
 * @module
 */

/** `[end, count]`: offsets up to `end` (and above the previous step's end) were delivered `count` times. */
export type Step = readonly [end: number, count: number];

/** `[first, last]`: every record from `first` to `last` (inclusive) was settled. */
export type Range = readonly [first: number, last: number];

const PREFIX_V1 = "omnibus1;";
const PREFIX = "omnibus2;";
const MAX_STEPS = 16;
/** Settled ranges carried in one commit. */
export const MAX_SETTLED_RANGES = 64;
/** Characters of settled ranges in one commit (Kafka's default `offset.metadata.max.bytes` is 4096). */
const MAX_SETTLED_CHARS = 1500;

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

function parseStepList(text: string): Step[] | undefined {
  const steps: Step[] = [];
  if (text === "") return steps;
  for (const part of text.split(",")) {
    const [end, count] = part.split(":").map(Number);
    if (!Number.isSafeInteger(end) || !Number.isSafeInteger(count) || count! < 1) return undefined;
    if (steps.length > 0 && end! <= steps[steps.length - 1]![0]) return undefined;
    steps.push([end!, count!]);
  }
  return steps;
}

function parseRanges(text: string, base: number): Range[] | undefined {
  const ranges: Range[] = [];
  if (text === "") return ranges;
  for (const part of text.split(",")) {
    const dash = part.indexOf("-");
    const first = Number(dash < 0 ? part : part.slice(0, dash));
    const last = dash < 0 ? first : Number(part.slice(dash + 1));
    if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last) || first < 0 || last < first)
      return undefined;
    if (ranges.length > 0 && base + first <= ranges[ranges.length - 1]![1]) return undefined;
    ranges.push([base + first, base + last]);
  }
  return ranges;
}

/** What a commit's metadata says; empty for metadata this adapter did not write. */
export interface History {
  readonly steps: Step[];
  readonly settled: Range[];
}

const NO_HISTORY: History = { steps: [], settled: [] };

/** Parse commit metadata written by {@link Ledger.encode}; anything else means "no history". */
export function parseHistory(metadata: string | null | undefined): History {
  if (typeof metadata !== "string") return NO_HISTORY;
  if (metadata.startsWith(PREFIX_V1)) {
    const steps = parseStepList(metadata.slice(PREFIX_V1.length));
    return steps === undefined || steps.length === 0 ? NO_HISTORY : { steps, settled: [] };
  }
  if (!metadata.startsWith(PREFIX)) return NO_HISTORY;
  const [base, stepText, settledText, ...rest] = metadata.slice(PREFIX.length).split(";");
  const from = Number(base);
  if (rest.length > 0 || stepText === undefined || settledText === undefined || !Number.isSafeInteger(from))
    return NO_HISTORY;
  const steps = parseStepList(stepText);
  const settled = parseRanges(settledText, from);
  if (steps === undefined || settled === undefined) return NO_HISTORY;
  return { steps, settled };
}

/** The delivery history of commit metadata (see {@link parseHistory}). */
export function parseSteps(metadata: string | null | undefined): Step[] {
  return parseHistory(metadata).steps;
}

/** Union of two sorted lists of disjoint ranges, merging neighbours. */
export function unionRanges(a: readonly Range[], b: readonly Range[]): Range[] {
  const all = [...a, ...b].sort((x, y) => x[0] - y[0]);
  const out: Range[] = [];
  for (const r of all) {
    const prev = out[out.length - 1];
    if (prev !== undefined && r[0] <= prev[1] + 1) {
      if (r[1] > prev[1]) out[out.length - 1] = [prev[0], r[1]];
    } else out.push(r);
  }
  return out;
}

/** The delivery history of one partition for one owner (a "session"). */
export class Ledger {
  private sessionMax: number | undefined;

  /**
   * @param prior - deliveries recorded before this session.
   * @param settledBefore - offsets above the commit point that an earlier owner settled.
   */
  constructor(
    private readonly prior: readonly Step[] = [],
    private readonly settledBefore: readonly Range[] = [],
  ) {}

  /** Whether an earlier owner settled `offset` (above its commit point): skip it. */
  wasSettled(offset: number): boolean {
    for (const [first, last] of this.settledBefore) {
      if (offset < first) return false;
      if (offset <= last) return true;
    }
    return false;
  }

  /** The settled ranges of earlier owners. */
  get settledEarlier(): readonly Range[] {
    return this.settledBefore;
  }

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

  /**
   * Commit metadata for a commit at `from` (what lies below it is dropped), or null if there is
   * nothing to say.
   *
   * @param settled - sorted, disjoint ranges of offsets above `from` settled so far (this
   * session's, together with the earlier owners' ones it has not fetched yet).
   */
  encode(from: number, settled: readonly Range[] = []): string | null {
    let steps = this.steps().filter(([end]) => end >= from);
    while (steps.length > MAX_STEPS) {
      // Merge the two lowest steps (over-counting the lower one a little is safe).
      const [first, second, ...rest] = steps;
      steps = [[second![0], Math.max(first![1], second![1])], ...rest];
    }
    const parts: string[] = [];
    let chars = 0;
    for (const [first, last] of settled) {
      if (last < from) continue;
      const a = Math.max(first, from) - from;
      const b = last - from;
      const part = a === b ? String(a) : `${a}-${b}`;
      // The lowest ranges are kept: the records above are delivered again (never lost).
      if (parts.length >= MAX_SETTLED_RANGES || chars + part.length + 1 > MAX_SETTLED_CHARS) break;
      parts.push(part);
      chars += part.length + 1;
    }
    if (steps.length === 0 && parts.length === 0) return null;
    return `${PREFIX}${from};${steps.map(([end, count]) => `${end}:${count}`).join(",")};${parts.join(",")}`;
  }
}
