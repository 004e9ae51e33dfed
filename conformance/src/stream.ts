/**
 * A stream of messages under faults: producers send unique ids while consumers handle them
 * slowly (so a backlog is stored when a fault hits), faults run at set points, and the report
 * says what was confirmed, what failed to send (by code), what arrived, what was lost (confirmed
 * but never received: a set difference), duplicates, hangs, and how soon sends and deliveries
 * resumed after each fault. The restart and cut cases of the suite and `pnpm chaos` both run it.
 * @module
 */
import { randomUUID } from "node:crypto";
import { type Adapter, type Client, createClient, silentLogger } from "@omnibus/core";

/** A fault to run once `at` (0..1) of the messages were attempted. */
export interface StreamFault {
  readonly label: string;
  readonly at: number;
  /** Runs the fault; resolves once the broker (or the network) is back. */
  readonly run: () => Promise<void>;
}

/** Options of {@link runStream}. */
export interface StreamOptions {
  /** Adapters for producers and consumers (each client gets its own). */
  readonly adapter: () => Adapter;
  readonly queue: string;
  /** Producers sending at once, each its share, one batch after another. @default 3 */
  readonly producers?: number;
  /** Messages in all. @default 300 */
  readonly messages?: number;
  /** Messages per send call. @default 10 */
  readonly batch?: number;
  /** Consumers (clients) of the queue. @default 1 */
  readonly consumers?: number;
  /** Time each handler takes, so that a backlog builds up. @default 2 */
  readonly handlerMs?: number;
  /** Messages sent after the last fault, to see sends and deliveries resume. @default 20 */
  readonly tail?: number;
  /** Pause of a producer after a failed send (an application backing off). @default 100 */
  readonly failurePauseMs?: number;
  readonly faults: readonly StreamFault[];
  /** Client options of every client (timeouts). */
  readonly sendTimeoutMs?: number;
  /** No delivery for this long while confirmed messages are missing ends the wait: "hung". @default 30000 */
  readonly quietMs?: number;
  /**
   * When confirmed messages are missing at the end, a fresh client consumes the queue for up to
   * this long to tell a broker that lost them from consumers that stopped: see
   * {@link StreamReport.recount}. 0: no recount. @default 0
   */
  readonly recountMs?: number;
  /** Progress lines. */
  readonly log?: (line: string) => void;
}

/** One fault's effect on the stream. */
export interface FaultReport {
  readonly label: string;
  readonly ms: number;
  /**
   * From the fault's end (broker back) to the first confirmed send after it; when no send was in
   * flight then, from the first send begun after it (an idle stream waits for nothing).
   */
  readonly firstConfirmMs: number | undefined;
  /**
   * From the fault's end to the first delivery after it; when no confirmed message was waiting
   * for its delivery and no send was in flight then, from the first send begun after it.
   */
  readonly firstDeliveryMs: number | undefined;
  /** How long after the fault's end the measured waits began (0 unless the stream was idle). */
  readonly confirmIdleMs: number;
  readonly deliveryIdleMs: number;
}

/** What {@link runStream} measured. */
export interface StreamReport {
  readonly attempted: number;
  readonly confirmed: number;
  /** Failed sends by error code. */
  readonly sendFailed: Readonly<Record<string, number>>;
  /** Distinct ids received. */
  readonly received: number;
  /** Confirmed and never received. */
  readonly lost: readonly string[];
  /** Deliveries beyond the first of each id. */
  readonly duplicates: number;
  /** Received ids that were never sent (must be none). */
  readonly unexpected: readonly string[];
  /** The longest a send call took, and how many took longer than the send timeout plus 5 s. */
  readonly maxSendMs: number;
  readonly hungSends: number;
  /** The wait for the confirmed messages ended without progress. */
  readonly hung: boolean;
  /**
   * With `recountMs` and messages lost: how many of the lost ids a fresh client (new adapter)
   * then received from the queue. They were stored all along — the stream's consumers had
   * stopped — while the rest are gone from the broker.
   */
  readonly recount?: { readonly found: number; readonly ms: number };
  /** Faults whose `run` failed (the harness could not restart or cut): no verdict on the adapter. */
  readonly faultErrors: readonly string[];
  readonly faults: readonly FaultReport[];
  readonly ms: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Run a stream of `messages` unique ids through the faults; never throws for what the broker does. */
export async function runStream(options: StreamOptions): Promise<StreamReport> {
  const started = Date.now();
  const producers = options.producers ?? 3;
  const total = options.messages ?? 300;
  const batch = options.batch ?? 10;
  const handlerMs = options.handlerMs ?? 2;
  const sendTimeoutMs = options.sendTimeoutMs ?? 10_000;
  const quietMs = options.quietMs ?? 30_000;
  const log = options.log ?? (() => {});
  const clients: Client[] = [];
  const client = async () => {
    const c = createClient({
      adapter: options.adapter(),
      logger: silentLogger,
      sendTimeoutMs,
      closeTimeoutMs: 5_000,
      retry: { initialDelayMs: 50, maxDelayMs: 500, maxAttempts: 1_000 },
    });
    clients.push(c);
    return c;
  };

  const sent = new Set<string>();
  const confirmed = new Map<string, number>();
  const failed: Record<string, number> = {};
  const seen = new Map<string, number>();
  const deliveries: number[] = [];
  let duplicates = 0;
  let attempted = 0;
  let maxSendMs = 0;
  let hungSends = 0;
  /** Every sendBatch call, in the order they began. */
  const spans: { start: number; end?: number }[] = [];

  for (let i = 0; i < (options.consumers ?? 1); i++) {
    const consumer = await client();
    await consumer.consume(
      options.queue,
      async (m) => {
        if (seen.has(m.id)) duplicates++;
        else seen.set(m.id, Date.now());
        deliveries.push(Date.now());
        if (handlerMs > 0) await sleep(handlerMs);
      },
      { concurrency: 4, prefetch: 32 },
    );
  }

  const pending = [...options.faults].sort((a, b) => a.at - b.at);
  const faults: { label: string; begun: number; ended: number }[] = [];
  const faultErrors: string[] = [];
  let faultRunning: Promise<void> | undefined;
  const maybeFault = () => {
    if (faultRunning || pending.length === 0 || attempted < pending[0]!.at * total) return;
    const fault = pending.shift()!;
    const begun = Date.now();
    log(`fault: ${fault.label} after ${attempted} of ${total} messages`);
    faultRunning = fault
      .run()
      .catch((error: unknown) => {
        const why = `${fault.label}: ${(error as Error)?.message ?? String(error)}`;
        faultErrors.push(why);
        log(`fault ${why}`);
      })
      .then(() => {
        faults.push({ label: fault.label, begun, ended: Date.now() });
        log(`fault: ${fault.label} over after ${Date.now() - begun} ms`);
        faultRunning = undefined;
      });
  };

  const producer = async (index: number, share: number) => {
    const bus = await client();
    let left = share;
    while (left > 0) {
      const n = Math.min(batch, left);
      left -= n;
      const items = Array.from({ length: n }, (_, i) => ({ id: randomUUID(), body: { producer: index, i } }));
      for (const item of items) sent.add(item.id);
      attempted += n;
      if (index < producers) maybeFault();
      const t0 = Date.now();
      const span: { start: number; end?: number } = { start: t0 };
      spans.push(span);
      try {
        await bus.sendBatch(options.queue, items);
        const now = Date.now();
        for (const item of items) confirmed.set(item.id, now);
      } catch (error) {
        const code = (error as { code?: string })?.code ?? "(no code)";
        failed[code] = (failed[code] ?? 0) + n;
        await sleep(options.failurePauseMs ?? 100);
      } finally {
        span.end = Date.now();
        const took = Date.now() - t0;
        maxSendMs = Math.max(maxSendMs, took);
        if (took > sendTimeoutMs + 5_000) hungSends++;
      }
    }
  };
  const shares = Array.from(
    { length: producers },
    (_, i) => Math.floor(total / producers) + (i < total % producers ? 1 : 0),
  );
  await Promise.all(shares.map((share, i) => producer(i, share)));
  // Faults not reached (few messages) still run, then the stream waits for them.
  while (pending.length > 0 || faultRunning) {
    attempted = Math.max(attempted, total);
    maybeFault();
    await faultRunning;
  }
  // A tail sent once every fault is over: sends and deliveries must have resumed. It goes on, new
  // ids each round, until a send is confirmed or 20 s passed: two batches refused at once by a
  // broker still starting (seen in CI after a kill) left the resume unmeasured ("never").
  const tailFrom = Date.now();
  const confirmedBefore = confirmed.size;
  do await producer(producers, options.tail ?? 20);
  while (confirmed.size === confirmedBefore && Date.now() - tailFrom < 20_000);
  log(`sent: ${confirmed.size} confirmed, ${Object.values(failed).reduce((a, b) => a + b, 0)} failed`);

  // Wait for every confirmed id, or for quiet.
  let lastProgress = Date.now();
  let lastCount = -1;
  let hung = false;
  for (;;) {
    const missing = [...confirmed.keys()].some((id) => !seen.has(id));
    if (!missing) break;
    if (seen.size !== lastCount) {
      lastCount = seen.size;
      lastProgress = Date.now();
    } else if (Date.now() - lastProgress > quietMs) {
      hung = true;
      break;
    }
    await sleep(50);
  }
  await Promise.allSettled(clients.map((c) => Promise.race([c.close(), sleep(15_000)])));
  const lost = [...confirmed.keys()].filter((id) => !seen.has(id));
  const recount =
    lost.length > 0 && (options.recountMs ?? 0) > 0 ? await recountLost(options, lost) : undefined;
  const after = (list: number[], from: number) => {
    const t = list.find((x) => x >= from);
    return t === undefined ? undefined : t - from;
  };
  const confirms = [...confirmed.values()].sort((a, b) => a - b);
  // Where a resume time starts: the fault's end, unless nothing was waiting then (every message
  // already sent and delivered, as when the stream ran out during a long graceful restart): then
  // the first send begun after it. Otherwise an idle window counts as a slow resume.
  const sendingAt = (at: number) => spans.some((b) => b.start <= at && (b.end === undefined || b.end >= at));
  const nextSend = (at: number) => spans.find((b) => b.start >= at)?.start ?? at;
  const confirmFrom = (at: number) => (sendingAt(at) ? at : nextSend(at));
  const backlogAt = (at: number) => {
    for (const [id, t] of confirmed)
      if (t <= at && !((seen.get(id) ?? Number.POSITIVE_INFINITY) <= at)) return true;
    return false;
  };
  const deliveryFrom = (at: number) => (backlogAt(at) || sendingAt(at) ? at : nextSend(at));
  return {
    attempted: sent.size,
    confirmed: confirmed.size,
    sendFailed: failed,
    received: seen.size,
    lost,
    duplicates,
    unexpected: [...seen.keys()].filter((id) => !sent.has(id)),
    maxSendMs,
    hungSends,
    hung,
    ...(recount ? { recount } : {}),
    faultErrors,
    faults: faults.map((f) => {
      const c = confirmFrom(f.ended);
      const d = deliveryFrom(f.ended);
      return {
        label: f.label,
        ms: f.ended - f.begun,
        firstConfirmMs: after(confirms, c),
        firstDeliveryMs: after(deliveries, d),
        confirmIdleMs: c - f.ended,
        deliveryIdleMs: d - f.ended,
      };
    }),
    ms: Date.now() - started,
  };
}

/** How many of `lost` a fresh client receives from the queue within `recountMs` (see {@link StreamReport.recount}). */
async function recountLost(
  options: StreamOptions,
  lost: readonly string[],
): Promise<{ found: number; ms: number }> {
  const began = Date.now();
  const missing = new Set(lost);
  let found = 0;
  const c = createClient({ adapter: options.adapter(), logger: silentLogger, closeTimeoutMs: 5_000 });
  try {
    await c.consume(options.queue, async (m) => {
      if (missing.delete(m.id)) found++;
    });
    const deadline = began + (options.recountMs ?? 0);
    while (missing.size > 0 && Date.now() < deadline) await sleep(50);
  } catch (error) {
    options.log?.(`recount: ${(error as Error)?.message ?? String(error)}`);
  } finally {
    await Promise.race([c.close().catch(() => {}), sleep(15_000)]);
  }
  return { found, ms: Date.now() - began };
}
