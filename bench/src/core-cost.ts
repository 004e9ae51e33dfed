/**
 * What core itself adds per message, on any broker: the same adapter driven two ways in one
 * process, interleaved —
 *
 * - `spi`: the adapter alone, through the SPI (`adapter.send` with ready-made `OutboundMessage`s
 *   carrying pre-encoded bodies, `adapter.consume` acking each delivery as it arrives) — the floor
 *   no client on top of this adapter can go below;
 * - `client`: `createClient` on the same URL (JSON bodies through the default codec, the consumer
 *   runner, its settlement path, telemetry off).
 *
 * Each run: `messages` × 256 B, one consumer, sends either in windows of 100 (`batch`: one
 * `sendBatch` / one `adapter.send` per window) or one call per message with 256 in flight
 * (`single`). The figure is the bench process's CPU per message (user + system µs from
 * `process.cpuUsage()`, first send to last message handled): steadier than msg/s on a shared
 * machine. Core's cost is `client − spi`.
 *
 *   pnpm bench:core [url] [--messages N] [--repeat N]      (default memory://, 20,000, 7)
 * @module
 */
import { parseArgs } from "node:util";
import { type Adapter, type Client, createClient, type OutboundMessage, silentLogger } from "@omnibus/core";
import { body, bodyBytes } from "./payload.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { messages: { type: "string" }, repeat: { type: "string" } },
});
const url = positionals[0] ?? "memory://core-cost";
const N = Number(values.messages ?? 20_000);
const R = Number(values.repeat ?? 7);
const SIZE = 256;
const WINDOW = { batch: 100, single: 256 } as const;
type Mode = keyof typeof WINDOW;
const stamp = Date.now().toString(36);
let seq = 0;

/** Resolves once `count` messages were handled; `hit` counts one. */
function counter(count: number): { hit: () => void; all: Promise<void> } {
  let left = count;
  let done!: () => void;
  const all = new Promise<void>((resolve) => {
    done = resolve;
  });
  return { hit: () => void (--left === 0 && done()), all };
}

/** CPU µs per message of `run` (which must resolve once every message was handled). */
async function cpuPerMessage(run: () => Promise<void>): Promise<number> {
  const before = process.cpuUsage();
  await run();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / N;
}

async function viaSpi(adapter: Adapter, mode: Mode): Promise<number> {
  const address = { kind: "queue", name: `core-cost-${stamp}-${seq++}` } as const;
  const { hit, all } = counter(N);
  const handle = await adapter.consume(address, {
    prefetch: 256,
    onDelivery: (d) => {
      void d.ack();
      hit();
    },
    onError: () => {},
  });
  const message = (i: number): OutboundMessage => ({
    id: `${stamp}-${i}`,
    body: bodyBytes(i, SIZE),
    headers: {},
    timestamp: Date.now(),
  });
  const cpu = await cpuPerMessage(async () => {
    for (let from = 0; from < N; from += WINDOW[mode]) {
      const to = Math.min(N, from + WINDOW[mode]);
      if (mode === "batch") {
        const batch: OutboundMessage[] = [];
        for (let i = from; i < to; i++) batch.push(message(i));
        await adapter.send(address, batch);
      } else {
        const sends: Promise<void>[] = [];
        for (let i = from; i < to; i++) sends.push(adapter.send(address, [message(i)]));
        await Promise.all(sends);
      }
    }
    await all;
  });
  await handle.close();
  await adapter.deleteQueue?.(address.name);
  return cpu;
}

async function viaClient(client: Client, mode: Mode): Promise<number> {
  const queue = `core-cost-${stamp}-${seq++}`;
  const { hit, all } = counter(N);
  const sub = await client.consume(queue, () => hit());
  const cpu = await cpuPerMessage(async () => {
    for (let from = 0; from < N; from += WINDOW[mode]) {
      const to = Math.min(N, from + WINDOW[mode]);
      if (mode === "batch") {
        const items = [];
        for (let i = from; i < to; i++) items.push({ body: body(i, SIZE) });
        await client.sendBatch(queue, items);
      } else {
        const sends: Promise<string>[] = [];
        for (let i = from; i < to; i++) sends.push(client.send(queue, body(i, SIZE)));
        await Promise.all(sends);
      }
    }
    await all;
  });
  await sub.close();
  await client.deleteQueue(queue);
  return cpu;
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

// Two clients on the URL: one used as a client, the other's connected adapter driven directly.
const client = createClient({ url, logger: silentLogger, telemetry: { enabled: false } });
const raw = createClient({ url, logger: silentLogger, telemetry: { enabled: false } });
await client.connect();
await raw.connect();
const adapter = raw.adapter;
process.stdout.write(
  `core's added CPU per message on ${url.replace(/\/\/[^@/]*@/, "//")} — ${N} × ${SIZE} B, median of ${R} interleaved runs\n`,
);
for (const mode of ["batch", "single"] as const) {
  await viaSpi(adapter, mode); // warm-up, both ways
  await viaClient(client, mode);
  const spi: number[] = [];
  const api: number[] = [];
  for (let r = 0; r < R; r++) {
    if (r % 2 === 0) {
      spi.push(await viaSpi(adapter, mode));
      api.push(await viaClient(client, mode));
    } else {
      api.push(await viaClient(client, mode));
      spi.push(await viaSpi(adapter, mode));
    }
  }
  const s = median(spi);
  const c = median(api);
  process.stdout.write(
    `  ${mode.padEnd(6)}  spi ${s.toFixed(2)} µs/msg  client ${c.toFixed(2)} µs/msg  core adds ${(c - s).toFixed(2)} µs/msg\n`,
  );
}
await client.close();
await raw.close();
