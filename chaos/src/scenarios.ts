/**
 * The chaos scenarios, each on a fresh private broker: restarts (graceful, SIGKILL) mid-stream,
 * a consumer process killed mid-stream, every connection cut for 20 s.
 * @module
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { freePort } from "@omnibus/brokers";
import { runStream, type StreamReport, tcpProxy } from "@omnibus/conformance";
import { type Adapter, createClient, silentLogger } from "@omnibus/core";
import { type ChaosBroker, SETUPS } from "./brokers.js";

export const SCENARIOS = ["restart", "kill", "consumer-kill", "cut"] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** How big a run is. */
export interface Size {
  readonly producers: number;
  readonly messages: number;
  readonly handlerMs: number;
  readonly cutMs: number;
  readonly consumerKillMessages: number;
}

export const FULL: Size = {
  producers: 10,
  messages: 10_000,
  handlerMs: 2,
  cutMs: 20_000,
  consumerKillMessages: 3_000,
};
export const QUICK: Size = {
  producers: 4,
  messages: 1_000,
  handlerMs: 1,
  cutMs: 5_000,
  consumerKillMessages: 600,
};

/** One row of the chaos table. */
export interface Row {
  readonly broker: ChaosBroker;
  readonly scenario: Scenario;
  readonly durable: boolean;
  readonly confirmed: number;
  readonly sendFailed: Readonly<Record<string, number>>;
  readonly received: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly hung: boolean;
  /** Restore (broker or network back) to the first confirmed send / first delivery, per fault. */
  readonly firstConfirmMs: readonly (number | undefined)[];
  readonly firstDeliveryMs: readonly (number | undefined)[];
  /** Per fault: how long after the restore nothing was waiting (the times above start after it). */
  readonly confirmIdleMs?: readonly number[];
  readonly deliveryIdleMs?: readonly number[];
  readonly ms: number;
  /** Of the lost: how many a fresh consumer then received (stored all along; see `StreamReport.recount`). */
  readonly recounted?: number;
  readonly error?: string;
}

const row = (broker: ChaosBroker, scenario: Scenario, r: StreamReport): Row => ({
  broker,
  scenario,
  durable: SETUPS[broker].durable,
  confirmed: r.confirmed,
  sendFailed: r.sendFailed,
  received: r.received,
  lost: r.lost.length,
  duplicates: r.duplicates,
  // On a broker that keeps messages in memory, waiting for what its restart lost is no hang.
  hung: (SETUPS[broker].durable && r.hung) || r.hungSends > 0,
  firstConfirmMs: r.faults.map((f) => f.firstConfirmMs),
  firstDeliveryMs: r.faults.map((f) => f.firstDeliveryMs),
  confirmIdleMs: r.faults.map((f) => f.confirmIdleMs),
  deliveryIdleMs: r.faults.map((f) => f.deliveryIdleMs),
  ms: r.ms,
  ...(r.recount ? { recounted: r.recount.found } : {}),
  // A fault that did not run (the server would not restart) leaves nothing to judge.
  ...(r.faultErrors.length > 0 ? { error: `fault failed: ${r.faultErrors.join("; ")}` } : {}),
});

/** Run one scenario on one broker; never throws (a failure is a row with `error`). */
export async function runScenario(
  broker: ChaosBroker,
  scenario: Scenario,
  size: Size,
  log: (line: string) => void,
): Promise<Row> {
  const setup = SETUPS[broker];
  const started = Date.now();
  const adapters: Adapter[] = [];
  const track = (a: Adapter) => {
    adapters.push(a);
    return a;
  };
  const queue = `chaos-${scenario}-${randomUUID().slice(0, 8)}`;
  let cleanup: () => Promise<void> = async () => {};
  try {
    if (scenario === "cut") {
      // The server's port is chosen first: Kafka's readiness probe already follows the advertised
      // address, through the proxy.
      const port = await freePort();
      const proxy = await tcpProxy({ target: { host: "127.0.0.1", port } });
      const server = await setup.start(broker === "kafka" ? { port, advertisedPort: proxy.port } : { port });
      cleanup = async () => {
        await proxy.close();
        await server[Symbol.asyncDispose]();
      };
      const address = setup.address(server, proxy.port);
      const report = await runStream({
        adapter: () => track(setup.adapter(address)),
        queue,
        producers: size.producers,
        messages: size.messages,
        handlerMs: size.handlerMs,
        consumers: 2,
        recountMs: setup.durable ? 10_000 : 0,
        log,
        faults: [
          {
            label: `every connection cut for ${size.cutMs / 1000} s`,
            at: 0.4,
            run: () => proxy.cut(size.cutMs),
          },
        ],
      });
      return row(broker, scenario, report);
    }
    const server = await setup.start();
    cleanup = () => server[Symbol.asyncDispose]();
    const address = setup.address(server);
    if (scenario === "consumer-kill") return await consumerKill(broker, address, queue, size, log, track);
    const fault =
      scenario === "restart"
        ? {
            label: setup.cluster ? "graceful restart of the leader" : "graceful restart",
            run: () => server.restart(),
          }
        : {
            label: setup.cluster ? "SIGKILL the leader and start it again" : "SIGKILL and start",
            run: async () => {
              await server.kill();
              await server.start();
            },
          };
    const report = await runStream({
      adapter: () => track(setup.adapter(address)),
      queue,
      producers: size.producers,
      messages: size.messages,
      handlerMs: size.handlerMs,
      consumers: 2,
      recountMs: setup.durable ? 10_000 : 0,
      log,
      faults: [
        { ...fault, at: 0.3 },
        { ...fault, at: 0.6 },
      ],
    });
    return row(broker, scenario, report);
  } catch (error) {
    return {
      broker,
      scenario,
      durable: setup.durable,
      confirmed: 0,
      sendFailed: {},
      received: 0,
      lost: 0,
      duplicates: 0,
      hung: false,
      firstConfirmMs: [],
      firstDeliveryMs: [],
      ms: Date.now() - started,
      error: (error as Error)?.message ?? String(error),
    };
  } finally {
    await Promise.allSettled(adapters.map((a) => Promise.race([a.close(), sleep(10_000)])));
    await cleanup().catch((error: unknown) => log(`cleanup failed: ${(error as Error)?.message}`));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A consumer in a child process handles a third of the messages and is killed with SIGKILL; a
 * fresh consumer takes over. Lost = confirmed − (handled by the child ∪ received by the fresh one).
 */
async function consumerKill(
  broker: ChaosBroker,
  address: string,
  queue: string,
  size: Size,
  log: (line: string) => void,
  track: (a: Adapter) => Adapter,
): Promise<Row> {
  const started = Date.now();
  const setup = SETUPS[broker];
  const here = dirname(fileURLToPath(import.meta.url));
  // tsx as a loader in the consumer's own process: its CLI runs the script in a child process,
  // which a SIGKILL of the CLI leaves running (still consuming, its output still reaching us).
  const tsx = pathToFileURL(join(here, "..", "..", "node_modules", "tsx", "dist", "loader.mjs")).href;
  const child = spawn(
    process.execPath,
    [
      "--import",
      tsx,
      "--conditions=@omnibus/source",
      join(here, "consumer-child.ts"),
      broker,
      address,
      queue,
      String(size.handlerMs * 2),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const handledByChild = new Set<string>();
  let ready = false;
  let buffered = "";
  child.stdout.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    for (const line of lines) {
      if (line === "ready") ready = true;
      else if (line) handledByChild.add(line);
    }
  });
  const until = async (cond: () => boolean, ms: number, what: string) => {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(20);
    }
  };
  await until(() => ready, 60_000, "the consumer process to start");
  const producer = createClient({
    adapter: track(setup.adapter(address)),
    logger: silentLogger,
    sendTimeoutMs: 30_000,
  });
  const confirmed = new Set<string>();
  const failed: Record<string, number> = {};
  const total = size.consumerKillMessages;
  for (let i = 0; i < total; i += 50) {
    const items = Array.from({ length: Math.min(50, total - i) }, () => ({ id: randomUUID(), body: { i } }));
    try {
      await producer.sendBatch(queue, items);
      for (const item of items) confirmed.add(item.id);
    } catch (error) {
      const code = (error as { code?: string }).code ?? "(no code)";
      failed[code] = (failed[code] ?? 0) + items.length;
    }
  }
  await until(() => handledByChild.size >= total / 3, 120_000, "the consumer process to handle a third");
  child.kill("SIGKILL");
  log(`consumer process killed after ${handledByChild.size} messages`);
  const killedAt = Date.now();
  const fresh = createClient({ adapter: track(setup.adapter(address)), logger: silentLogger });
  const received = new Map<string, number>();
  let firstDelivery: number | undefined;
  await fresh.consume(queue, (m) => {
    firstDelivery ??= Date.now() - killedAt;
    received.set(m.id, (received.get(m.id) ?? 0) + 1);
  });
  const missing = () => [...confirmed].filter((id) => !handledByChild.has(id) && !received.has(id));
  let hung = false;
  try {
    await until(() => missing().length === 0, 120_000, "the fresh consumer to receive the rest");
  } catch {
    hung = true;
  }
  await producer.close();
  await fresh.close();
  let duplicates = 0;
  for (const [id, n] of received) duplicates += n - 1 + (handledByChild.has(id) ? 1 : 0);
  return {
    broker,
    scenario: "consumer-kill",
    durable: setup.durable,
    confirmed: confirmed.size,
    sendFailed: failed,
    received: new Set([...handledByChild, ...received.keys()]).size,
    lost: missing().length,
    duplicates,
    hung,
    firstConfirmMs: [],
    firstDeliveryMs: [firstDelivery],
    ms: Date.now() - started,
  };
}
