/**
 * Raw amqplib, no Omnibus: does a RabbitMQ node that is SIGKILLed twice mid-stream keep every
 * message it confirmed? A private broker (never the shared one), a durable queue declared just
 * before the stream, N publishers (each its own connection and confirm channel) sending unique
 * ids in batches, `kill -9` + start at set points, then a drain from a fresh connection and a set
 * difference of confirmed against received. Every wait is bounded, so a queue that stops
 * answering is reported, not waited on. Run from adapters/rabbitmq:
 *
 *   node --conditions=@omnibus/source --import tsx bench/kill-repro.mts quorum 3
 *   node --conditions=@omnibus/source --import tsx bench/kill-repro.mts classic 3
 *
 * Options (after the two positionals): --publishers 10 --messages 10000 --batch 10 --pace 100
 * (ms between a publisher's batches) --kills 0.3,0.65 (fractions of the messages attempted)
 * --consume (a slow consumer acks during the stream too) --graceful (stop instead of kill -9).
 * One JSON line per run on stdout, then a summary.
 */
import { randomUUID } from "node:crypto";
import { cpSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type PrivateBroker, startPrivate } from "@omnibus/brokers";
import amqp, { type ChannelModel, type ConfirmChannel } from "amqplib";

type QueueType = "quorum" | "classic";

const argv = process.argv.slice(2);
const queueType = (argv[0] ?? "quorum") as QueueType;
const runs = Number(argv[1] ?? 1);
const flag = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1]! : fallback;
};
const PUBLISHERS = Number(flag("publishers", "10"));
const MESSAGES = Number(flag("messages", "10000"));
const BATCH = Number(flag("batch", "10"));
const PACE_MS = Number(flag("pace", "100"));
const KILLS = flag("kills", "0.3,0.65").split(",").map(Number);
/** Instead of the first fraction: the first fault once the queue is this old (ms). */
const FIRST_KILL_MS = flag("first-kill-ms", "") === "" ? undefined : Number(flag("first-kill-ms", ""));
const CONSUME_DURING = argv.includes("--consume");
const GRACEFUL = argv.includes("--graceful");
/** Restart the fresh broker gracefully once before the queue is declared (not a node's first boot). */
const WARM = argv.includes("--warm");
/** Copy the broker's log folder here when a run lost messages. */
const KEEP_LOGS = flag("keep-logs", "");
/** Every publisher declares the queue on each (re)connect, as the adapter does. */
const DECLARE_EACH = argv.includes("--declare-each");
/** A confirm not received within this is given up on (and its connection dropped). */
const CONFIRM_TIMEOUT_MS = 10_000;
/** No confirm at all for this long after a fault: the queue is not coming back, stop sending. */
const STALL_MS = 30_000;
const DRAIN_QUIET_MS = 5_000;
const DRAIN_MAX_MS = 60_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `p`, or a rejection after `ms`. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Drop a connection without a handshake (the broker may not answer one). */
function drop(conn: ChannelModel | undefined): void {
  const stream = (conn as unknown as { connection?: { stream?: { destroy(): void } } })?.connection?.stream;
  stream?.destroy();
}

interface RunReport {
  run: number;
  queueType: QueueType;
  server: string;
  fault: string;
  attempted: number;
  /** Sending stopped: no confirm for STALL_MS after the broker was back. */
  stalled: boolean;
  confirmed: number;
  failed: Record<string, number>;
  received: number;
  lost: number;
  duplicates: number;
  /** Age of the queue (since its declare) at each fault. */
  queueAgeAtFaultMs: number[];
  /** Longest a batch waited for its confirms. */
  maxConfirmWaitMs: number;
  /** Batches whose confirms did not come within CONFIRM_TIMEOUT_MS. */
  confirmTimeouts: number;
  /** The queue's message count seen by the drain's passive declare (undefined: no answer). */
  drainCheckCount: number | undefined;
  drainConsumeMs: number | undefined;
  drainError: string | undefined;
  /** Broker log lines about quorum members started anew. */
  brokerWarnings: string[];
  ms: number;
}

async function connect(url: string, queue: string): Promise<{ conn: ChannelModel; ch: ConfirmChannel }> {
  const conn = await amqp.connect(url, { timeout: 2_000, noDelay: true });
  conn.on("error", () => {});
  try {
    const ch = await within(conn.createConfirmChannel(), 5_000, "createConfirmChannel");
    ch.on("error", () => {});
    if (DECLARE_EACH) {
      await within(
        ch.assertQueue(queue, {
          durable: true,
          arguments: queueType === "quorum" ? { "x-queue-type": "quorum" } : {},
        }),
        5_000,
        "assertQueue",
      );
    }
    return { conn, ch };
  } catch (error) {
    drop(conn);
    throw error;
  }
}

function brokerLog(broker: PrivateBroker): string[] {
  const dir = join(broker.dataDir, "log");
  const lines: string[] = [];
  for (const f of readdirSync(dir)) {
    if (!f.endsWith(".log")) continue;
    for (const line of readFileSync(join(dir, f), "utf8").split("\n")) {
      if (
        /not found on this node|name_not_registered|Starting member as a new|'quorum_queues' running pre init for/i.test(
          line,
        )
      )
        lines.push(line.replace(/^\S+ (\S+)\+00:00 \[\w+\] <[\d.]+> /, "$1 ").slice(0, 160));
    }
  }
  return lines;
}

/** The private broker of the run under way, disposed on SIGINT/SIGTERM too. */
let current: PrivateBroker | undefined;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    void (current?.[Symbol.asyncDispose]() ?? Promise.resolve()).finally(() => process.exit(1));
  });
}

async function oneRun(run: number): Promise<RunReport> {
  const started = Date.now();
  await using broker = await startPrivate("rabbitmq");
  current = broker;
  if (WARM) {
    await broker.restart();
    await sleep(2_000);
  }
  const admin = await amqp.connect(broker.url);
  const server = String(
    (admin as unknown as { connection: { serverProperties: Record<string, unknown> } }).connection
      .serverProperties.version,
  );
  const queue = `repro.${queueType}.${randomUUID().slice(0, 8)}`;
  const adminCh = await admin.createChannel();
  await adminCh.assertQueue(queue, {
    durable: true,
    arguments: queueType === "quorum" ? { "x-queue-type": "quorum" } : {},
  });
  const declaredAt = Date.now();
  await admin.close();

  const confirmed = new Set<string>();
  /** Ids the broker returned as unroutable (the queue is gone). */
  const returned = new Set<string>();
  const returnsWatched = new WeakSet<object>();
  const failed: Record<string, number> = {};
  const received = new Map<string, number>();
  const queueAgeAtFaultMs: number[] = [];
  let attempted = 0;
  let maxConfirmWaitMs = 0;
  let confirmTimeouts = 0;
  let lastConfirmAt = Date.now();
  let stalled = false;
  const pending = KILLS.map((at) => at).sort((a, b) => a - b);
  let faultRunning: Promise<void> | undefined;
  let firstByTimer = FIRST_KILL_MS !== undefined;
  const maybeFault = () => {
    if (faultRunning || pending.length === 0) return;
    if (firstByTimer) {
      if (Date.now() - declaredAt < FIRST_KILL_MS!) return;
      firstByTimer = false;
    } else if (attempted < pending[0]! * MESSAGES) return;
    pending.shift();
    queueAgeAtFaultMs.push(Date.now() - declaredAt);
    faultRunning = (async () => {
      if (GRACEFUL) await broker.stop();
      else await broker.kill();
      await broker.start();
    })().finally(() => {
      faultRunning = undefined;
      lastConfirmAt = Date.now();
    });
  };

  // A slow consumer during the stream (optional): acks one message every ~2 ms.
  let consuming = CONSUME_DURING;
  const consumerLoop = (async () => {
    while (consuming) {
      let conn: ChannelModel | undefined;
      try {
        conn = await amqp.connect(broker.url, { timeout: 2_000 });
        conn.on("error", () => {});
        const ch = await within(conn.createChannel(), 5_000, "createChannel");
        ch.on("error", () => {});
        await within(ch.prefetch(32), 5_000, "prefetch");
        let chain = Promise.resolve();
        await within(
          ch.consume(queue, (m) => {
            if (!m) return;
            chain = chain.then(async () => {
              await sleep(2);
              const id = String(m.properties.messageId);
              received.set(id, (received.get(id) ?? 0) + 1);
              try {
                ch.ack(m);
              } catch {}
            });
          }),
          10_000,
          "consume",
        );
        await new Promise<void>((resolve) => {
          conn!.on("close", () => resolve());
          const stopCheck = setInterval(() => {
            if (!consuming) {
              clearInterval(stopCheck);
              resolve();
            }
          }, 100);
        });
      } catch {
        await sleep(200);
      } finally {
        drop(conn);
      }
    }
  })();

  const publisher = async (share: number) => {
    let link: { conn: ChannelModel; ch: ConfirmChannel } | undefined;
    let left = share;
    while (left > 0 && !stalled) {
      if (!faultRunning && Date.now() - lastConfirmAt > STALL_MS) {
        stalled = true;
        break;
      }
      if (!link) {
        try {
          link = await connect(broker.url, queue);
          const l = link;
          l.conn.on("close", () => {
            if (link === l) link = undefined;
          });
        } catch {
          await sleep(200);
          continue;
        }
      }
      const { ch, conn } = link;
      if (!returnsWatched.has(ch)) {
        returnsWatched.add(ch);
        ch.on("return", (m: { properties: { messageId?: string } }) => {
          if (m.properties.messageId) returned.add(m.properties.messageId);
        });
      }
      const n = Math.min(BATCH, left);
      left -= n;
      const ids = Array.from({ length: n }, () => randomUUID());
      attempted += n;
      maybeFault();
      const t0 = Date.now();
      const confirms = ids.map(
        (id) =>
          new Promise<void>((resolve, reject) => {
            try {
              // mandatory: a message the broker cannot route (no queue) comes back, unconfirmed
              ch.sendToQueue(
                queue,
                Buffer.from(id),
                { persistent: true, mandatory: true, messageId: id },
                (err) =>
                  err ? reject(err) : returned.has(id) ? reject(new Error("returned: no queue")) : resolve(),
              );
            } catch (error) {
              reject(error);
            }
          }),
      );
      try {
        await within(Promise.all(confirms), CONFIRM_TIMEOUT_MS, "confirm");
        for (const id of ids) confirmed.add(id);
        lastConfirmAt = Date.now();
      } catch (error) {
        const reason = /no answer/.test((error as Error).message)
          ? "confirm timeout"
          : (error as Error).message;
        failed[reason] = (failed[reason] ?? 0) + n;
        if (reason === "confirm timeout") {
          confirmTimeouts++;
          drop(conn);
          if (link?.conn === conn) link = undefined;
        }
      }
      maxConfirmWaitMs = Math.max(maxConfirmWaitMs, Date.now() - t0);
      await sleep(PACE_MS);
    }
    drop(link?.conn);
  };
  const timer = FIRST_KILL_MS === undefined ? undefined : setTimeout(maybeFault, FIRST_KILL_MS);
  const share = Math.floor(MESSAGES / PUBLISHERS);
  await Promise.all(
    Array.from({ length: PUBLISHERS }, (_, i) =>
      publisher(i < PUBLISHERS - 1 ? share : MESSAGES - share * (PUBLISHERS - 1)),
    ),
  );
  while (pending.length > 0 || faultRunning) {
    attempted = Math.max(attempted, MESSAGES);
    maybeFault();
    await faultRunning;
  }
  clearTimeout(timer);
  consuming = false;
  await consumerLoop;

  // Drain from a fresh connection; every step bounded.
  let drainCheckCount: number | undefined;
  let drainConsumeMs: number | undefined;
  let drainError: string | undefined;
  let duplicates = 0;
  const drainConn = await amqp.connect(broker.url, { timeout: 5_000 });
  drainConn.on("error", () => {});
  try {
    const check = await drainConn.createChannel();
    check.on("error", () => {});
    try {
      drainCheckCount = (await within(check.checkQueue(queue), 10_000, "checkQueue")).messageCount;
    } catch (error) {
      drainError = `checkQueue: ${(error as Error).message}`;
    }
    const ch = await drainConn.createChannel();
    ch.on("error", () => {});
    await ch.prefetch(500);
    let last = Date.now();
    const t0 = Date.now();
    try {
      await within(
        ch.consume(queue, (m) => {
          if (!m) return;
          last = Date.now();
          const id = String(m.properties.messageId);
          if (received.has(id)) duplicates++;
          received.set(id, (received.get(id) ?? 0) + 1);
          ch.ack(m);
        }),
        30_000,
        "consume",
      );
      drainConsumeMs = Date.now() - t0;
      while (Date.now() - t0 < DRAIN_MAX_MS) {
        const missing = [...confirmed].some((id) => !received.has(id));
        if (!missing) break;
        if (Date.now() - last > DRAIN_QUIET_MS) break;
        await sleep(100);
      }
    } catch (error) {
      drainError = `${drainError ? `${drainError}; ` : ""}${(error as Error).message}`;
    }
  } finally {
    drop(drainConn);
  }
  const lost = [...confirmed].filter((id) => !received.has(id)).length;
  if (lost > 0 && KEEP_LOGS)
    cpSync(join(broker.dataDir, "log"), join(KEEP_LOGS, `${queueType}-run${run}-${Date.now()}`), {
      recursive: true,
    });
  return {
    run,
    queueType,
    server,
    fault: GRACEFUL ? "graceful stop + start" : "kill -9 + start",
    attempted,
    stalled,
    confirmed: confirmed.size,
    failed,
    received: received.size,
    lost,
    duplicates,
    queueAgeAtFaultMs,
    maxConfirmWaitMs,
    confirmTimeouts,
    drainCheckCount,
    drainConsumeMs,
    drainError,
    brokerWarnings: brokerLog(broker),
    ms: Date.now() - started,
  };
}

const reports: RunReport[] = [];
for (let run = 1; run <= runs; run++) {
  const report = await oneRun(run);
  reports.push(report);
  console.log(JSON.stringify(report));
}
console.log(
  `\n${queueType}, ${PUBLISHERS} publishers x ${MESSAGES / PUBLISHERS}, ${GRACEFUL ? "graceful" : "kill -9"} at ${FIRST_KILL_MS === undefined ? KILLS.join(", ") : `queue age ${FIRST_KILL_MS} ms, then ${KILLS.slice(1).join(", ")}`}${CONSUME_DURING ? ", consumer during the stream" : ""}${DECLARE_EACH ? ", each publisher declares" : ""}${WARM ? ", broker restarted once before" : ""}, pace ${PACE_MS} ms:`,
);
for (const r of reports) {
  console.log(
    `  run ${r.run}: ${r.confirmed} confirmed, ${r.lost} lost, ${r.received} received${r.stalled ? " (sending stalled)" : ""}, ` +
      `queue age at faults ${r.queueAgeAtFaultMs.map((t) => `${(t / 1000).toFixed(1)} s`).join(" / ")}, ` +
      `longest confirm wait ${r.maxConfirmWaitMs} ms, drain ${r.drainError ?? "ok"}, ` +
      `registered at restarts: ${r.brokerWarnings
        .map((l) => /for (\d+) registered/.exec(l)?.[1])
        .filter((n) => n !== undefined)
        .slice(1)
        .join(" / ")}`,
  );
}
process.exit(0);
