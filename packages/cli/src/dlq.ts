/**
 * `omnibus dlq list|show|replay|purge`: a dead-letter queue read through the adapter SPI. The
 * messages are taken as deliveries and held unsettled: `list` and `show` (and `--dry-run`) release
 * them all when the consumer closes, so the queue keeps them; `replay` sends each back to its
 * origin and acks it only once the broker confirmed the copy (at least once: nothing is lost);
 * `purge` acks them. How many to wait for comes from `stats()` first, so a read ends as soon as
 * the queue's messages are in hand.
 * @module
 */
import {
  type Adapter,
  type Client,
  type Delivery,
  deadLetterQueueFor,
  HeaderNames,
  type InboundMessage,
  validateName,
} from "@omnibus/core";
import { SingleBar } from "cli-progress";
import { describeError, Exit, type Io, UsageError, write, writeJson } from "./io.js";

/** Header counting how many times a message was replayed from a dead-letter queue. */
export const REPLAYS_HEADER = "omnibus-replays";

/** Options shared by the dlq commands. */
export interface DlqOptions {
  readonly json?: boolean;
  readonly limit?: number;
  readonly dryRun?: boolean;
  readonly yes?: boolean;
  /** Longest wait for the messages `stats()` announced, in ms. */
  readonly waitMs?: number;
}

/** A dead letter as the CLI shows it. */
export interface DeadLetterView {
  readonly id: string;
  readonly origin: string | undefined;
  readonly reason: string | undefined;
  readonly code: string | undefined;
  readonly attempts: number | undefined;
  readonly at: string | undefined;
  readonly replays: number;
  readonly key: string | undefined;
  readonly correlationId: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly bytes: number;
}

function view(m: InboundMessage): DeadLetterView {
  const h = m.headers;
  const attempts = h[HeaderNames.DeadLetterAttempts];
  return {
    id: m.id,
    origin: h[HeaderNames.DeadLetterOrigin],
    reason: h[HeaderNames.DeadLetterReason],
    code: h[HeaderNames.DeadLetterCode],
    attempts: attempts === undefined ? undefined : Number(attempts),
    at: h[HeaderNames.DeadLetterAt],
    replays: Number(h[REPLAYS_HEADER] ?? 0) || 0,
    key: m.key,
    correlationId: m.correlationId,
    headers: h,
    bytes: m.body.byteLength,
  };
}

/** The dead-letter queue of a `queue` or `topic:group` argument, or the queue named itself if it ends in `.dlq`. */
export function dlqName(target: string): string {
  if (target.endsWith(".dlq")) return validateName("queue", target);
  const colon = target.indexOf(":");
  if (colon < 0) return deadLetterQueueFor({ kind: "queue", name: validateName("queue", target) });
  return deadLetterQueueFor({
    kind: "topic",
    name: validateName("topic", target.slice(0, colon)),
    group: validateName("group", target.slice(colon + 1)),
  });
}

/** Hold up to `limit` deliveries of `queue`: as many as `stats()` says it has, within `waitMs`. */
async function take(
  client: Client,
  queue: string,
  limit: number,
  waitMs: number,
): Promise<{ deliveries: Delivery[]; release(): Promise<void> }> {
  const adapter: Adapter = client.adapter;
  const stats = await client.stats(queue, { deadLetterQueue: false });
  const expected = Math.min(limit, stats.lag);
  const deliveries: Delivery[] = [];
  const seen = new Set<string>();
  if (expected === 0) return { deliveries, release: async () => {} };
  let done: () => void = () => {};
  const enough = new Promise<void>((resolve) => {
    done = resolve;
  });
  const handle = await adapter.consume(
    { kind: "queue", name: queue },
    {
      prefetch: expected,
      onDelivery: (delivery) => {
        // A redelivery of one already held (a lease ran out) is not a second message.
        if (seen.has(delivery.message.id) || deliveries.length >= expected) return;
        seen.add(delivery.message.id);
        deliveries.push(delivery);
        if (deliveries.length >= expected) done();
      },
      onError: () => done(),
    },
  );
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([enough, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
  clearTimeout(timer);
  await handle.stop();
  return {
    deliveries,
    release: async () => {
      await handle.close();
    },
  };
}

/** Where a dead letter came from, as an address to send it back to. */
function originOf(m: InboundMessage): { kind: "queue"; name: string } | undefined {
  const origin = m.headers[HeaderNames.DeadLetterOrigin];
  if (origin?.startsWith("queue:")) return { kind: "queue", name: origin.slice(6) };
  return undefined;
}

function showTable(io: Io, queue: string, views: readonly DeadLetterView[]): void {
  write(io.stdout, `${views.length} dead letter(s) in ${queue}\n`);
  for (const v of views) {
    write(
      io.stdout,
      `${v.id}  from ${v.origin ?? "?"}  attempts ${v.attempts ?? "?"}  ${v.code ?? ""}  ${v.reason ?? ""}\n`,
    );
  }
}

/** `dlq list`: the dead letters, left in place. */
export async function list(client: Client, target: string, options: DlqOptions, io: Io): Promise<number> {
  const queue = dlqName(target);
  const { deliveries, release } = await take(client, queue, options.limit ?? 100, options.waitMs ?? 30_000);
  const views = deliveries.map((d) => view(d.message));
  await release();
  if (options.json) writeJson(io.stdout, { queue, count: views.length, messages: views });
  else showTable(io, queue, views);
  return Exit.Done;
}

/** `dlq show`: one dead letter with its headers and body, left in place. */
export async function show(
  client: Client,
  target: string,
  id: string,
  options: DlqOptions,
  io: Io,
): Promise<number> {
  const queue = dlqName(target);
  const { deliveries, release } = await take(
    client,
    queue,
    options.limit ?? 10_000,
    options.waitMs ?? 30_000,
  );
  const found = deliveries.find((d) => d.message.id === id);
  const body = found ? Buffer.from(found.message.body).toString("utf8") : undefined;
  await release();
  if (!found) {
    write(io.stderr, `no message ${id} in ${queue}\n`);
    return Exit.Failed;
  }
  const v = view(found.message);
  if (options.json) writeJson(io.stdout, { queue, message: { ...v, body } });
  else {
    write(io.stdout, `id         ${v.id}\norigin     ${v.origin ?? "?"}\nattempts   ${v.attempts ?? "?"}\n`);
    write(io.stdout, `code       ${v.code ?? ""}\nreason     ${v.reason ?? ""}\nat         ${v.at ?? ""}\n`);
    write(
      io.stdout,
      `replays    ${v.replays}\nheaders    ${JSON.stringify(v.headers)}\nbody       ${body}\n`,
    );
  }
  return Exit.Done;
}

/**
 * `dlq replay`: send each dead letter back to its origin queue, as a new message (attempt 1) with
 * the same id, body, key and headers, the dead-letter headers dropped and `omnibus-replays` + 1,
 * then ack it in the dead-letter queue. With `--dry-run` nothing moves.
 */
export async function replay(client: Client, target: string, options: DlqOptions, io: Io): Promise<number> {
  const queue = dlqName(target);
  const adapter = client.adapter;
  const { deliveries, release } = await take(
    client,
    queue,
    options.limit ?? Number.MAX_SAFE_INTEGER,
    options.waitMs ?? 30_000,
  );
  const results: {
    id: string;
    to: string | undefined;
    status: "replayed" | "skipped" | "failed" | "would replay";
    error?: string;
  }[] = [];
  const bar =
    !options.json && io.stderr.isTTY
      ? new SingleBar({ stream: io.stderr, format: "replaying {bar} {value}/{total} {id}", hideCursor: true })
      : undefined;
  bar?.start(deliveries.length, 0, { id: "" });
  try {
    for (const delivery of deliveries) {
      const m = delivery.message;
      const to = originOf(m);
      bar?.increment({ id: m.id });
      if (!to) {
        results.push({
          id: m.id,
          to: undefined,
          status: "skipped",
          error: "no queue origin (topic groups cannot be replayed to one group)",
        });
        continue;
      }
      if (options.dryRun) {
        results.push({ id: m.id, to: to.name, status: "would replay" });
        continue;
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(m.headers)) if (!k.startsWith("omnibus-dlq-")) headers[k] = v;
      headers[REPLAYS_HEADER] = String(view(m).replays + 1);
      try {
        await adapter.send(to, [
          {
            id: m.id,
            body: m.body,
            headers,
            key: m.key,
            correlationId: m.correlationId,
            replyTo: m.replyTo,
            timestamp: m.timestamp,
          },
        ]);
        await delivery.ack();
        results.push({ id: m.id, to: to.name, status: "replayed" });
      } catch (error) {
        results.push({ id: m.id, to: to.name, status: "failed", error: describeError(error) });
      }
    }
  } finally {
    bar?.stop();
    await release();
  }
  const count = (status: string) => results.filter((r) => r.status === status).length;
  const summary = {
    queue,
    dryRun: options.dryRun === true,
    replayed: count("replayed"),
    wouldReplay: count("would replay"),
    skipped: count("skipped"),
    failed: count("failed"),
    messages: results,
  };
  if (options.json) writeJson(io.stdout, summary);
  else {
    for (const r of results)
      write(
        io.stdout,
        `${r.status}  ${r.id}${r.to ? ` -> ${r.to}` : ""}${r.error ? `  (${r.error})` : ""}\n`,
      );
    write(
      io.stdout,
      options.dryRun
        ? `${summary.wouldReplay} would be replayed, ${summary.skipped} skipped (dry run: nothing moved)\n`
        : `${summary.replayed} replayed, ${summary.skipped} skipped, ${summary.failed} failed\n`,
    );
  }
  return summary.failed > 0 ? Exit.Failed : Exit.Done;
}

/** Ask `question` on the terminal; true for y/yes. */
async function confirm(io: Io, question: string): Promise<boolean> {
  write(io.stderr, `${question} [y/N] `);
  return new Promise((resolve) => {
    io.stdin.once("data", (chunk) => resolve(/^\s*y(es)?\s*$/i.test(String(chunk))));
  });
}

/** `dlq purge`: ack every dead letter (after asking, unless `--yes`). */
export async function purge(client: Client, target: string, options: DlqOptions, io: Io): Promise<number> {
  const queue = dlqName(target);
  if (!options.yes && !options.dryRun) {
    if (!io.stdin.isTTY)
      throw new UsageError(`purge removes every message of ${queue}: pass --yes to do it without a terminal`);
    if (!(await confirm(io, `Remove every message of ${queue}?`))) {
      write(io.stderr, "nothing removed\n");
      return Exit.Done;
    }
  }
  const { deliveries, release } = await take(
    client,
    queue,
    options.limit ?? Number.MAX_SAFE_INTEGER,
    options.waitMs ?? 30_000,
  );
  let purged = 0;
  try {
    if (!options.dryRun) {
      for (const d of deliveries) {
        await d.ack();
        purged++;
      }
    }
  } finally {
    await release();
  }
  const summary = { queue, dryRun: options.dryRun === true, purged, found: deliveries.length };
  if (options.json) writeJson(io.stdout, summary);
  else
    write(
      io.stdout,
      options.dryRun
        ? `${deliveries.length} would be purged from ${queue} (dry run)\n`
        : `${purged} purged from ${queue}\n`,
    );
  return Exit.Done;
}
