import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  type BenchReport,
  cpuRatio,
  parseCli,
  runBench,
  TRACING_MODES,
  textReport,
  tracingRatio,
  writeResults,
} from "../src/index.js";
import { LossError, Tracker } from "../src/tracker.js";

describe("tracker", () => {
  it("proves every id arrived, and reports a loss instead of a number", async () => {
    const ok = new Tracker(3);
    for (const i of [2, 0, 1, 1]) ok.add(i);
    await ok.arm(1000);
    expect(ok.duplicates).toBe(1);

    const lossy = new Tracker(3);
    lossy.add(0);
    lossy.add(0);
    lossy.add(2);
    const error = await lossy.arm(20).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LossError);
    expect((error as LossError).missing).toBe(1);
  });
});

describe("pnpm bench on a tiny size", () => {
  it("produces the table, the JSON and the SVG for memory, redis, rabbitmq and nats", async () => {
    const cli = parseCli([
      "--broker",
      "memory,redis,rabbitmq,nats",
      "--scenario",
      "e2e,send,rpc,stream",
      "--messages",
      "200",
      "--repeat",
      "1",
      "--rpc",
      "20",
      "--rate",
      "500",
      "--seconds",
      "0.3",
      "--window",
      "100",
      "--no-warmup",
    ]);
    const report = await runBench({ ...cli, quiet: true });
    const dir = await mkdtemp(path.join(os.tmpdir(), "omnibus-bench-"));
    try {
      const files = await writeResults(report, dir);
      const text = textReport(report);
      for (const broker of ["memory", "redis", "rabbitmq", "nats"]) expect(text).toContain(`${broker}  `);
      expect(text).toContain("e2e throughput");
      expect(text).toContain("omnibus/raw");
      for (const column of ["cpu µs/msg raw", "cpu µs/msg omnibus", "cpu ratio raw/omnibus", "peak RSS MB"])
        expect(text).toContain(column);

      const json = JSON.parse(await readFile(files.latest, "utf8")) as BenchReport;
      expect(json.brokers.map((b) => b.broker)).toEqual(["memory", "redis", "rabbitmq", "nats"]);
      for (const b of json.brokers) {
        expect(b.skipped).toBeUndefined();
        const e2e = b.scenarios.e2e!;
        // Nothing lost: every run has a figure, none an error.
        expect(e2e.omnibus.runs.map((r) => r.error)).toEqual([undefined]);
        expect(e2e.omnibus.summary.throughput!.median).toBeGreaterThan(0);
        expect(b.scenarios.stream!.omnibus.summary.p50!.median).toBeGreaterThan(0);
        expect(b.scenarios.rpc!.omnibus.summary.p99!.median).toBeGreaterThan(0);
        const sides = b.broker === "memory" ? (["omnibus"] as const) : (["raw", "omnibus"] as const);
        // CPU per message and peak RSS, per run and as medians, in every scenario of every side.
        for (const scenario of ["e2e", "send", "rpc", "stream"] as const) {
          for (const side of sides) {
            const result = b.scenarios[scenario]![side];
            expect(result.summary.cpuUsPerMsg!.median).toBeGreaterThan(0);
            expect(result.summary.peakRssMB!.median).toBeGreaterThan(10);
            const run = result.runs[0]!;
            expect(run.values!.cpuUsPerMsg).toBe(run.resources!.cpuUsPerMsg);
            expect(run.resources!.userUs + run.resources!.sysUs).toBeGreaterThan(0);
            expect(run.resources!.messages).toBeGreaterThan(0);
            expect(run.resources!.maxRssMB).toBeGreaterThanOrEqual(run.resources!.peakRssMB * 0.99);
          }
        }
        if (b.broker === "memory") {
          expect(e2e.raw.skipped).toBeDefined();
          expect(cpuRatio(e2e)).toBeUndefined();
        } else {
          expect(e2e.raw.runs.map((r) => r.error)).toEqual([undefined]);
          expect(e2e.raw.summary.throughput!.median).toBeGreaterThan(0);
          expect(b.scenarios.send!.raw.summary.throughput!.median).toBeGreaterThan(0);
          expect(cpuRatio(e2e)).toBeGreaterThan(0);
        }
      }

      const svg = await readFile(files.svg, "utf8");
      expect(svg.startsWith("<svg")).toBe(true);
      expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
      expect(svg).toContain("e2e throughput");
      expect(svg).toContain("e2e CPU per message");
      expect(await readFile(files.json, "utf8")).toBe(await readFile(files.latest, "utf8"));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it("--claim-check: 128 KiB bodies over memory:// go through the store, none lost", async () => {
    const cli = parseCli(
      "--broker memory --scenario e2e,rpc --messages 20 --size 131072 --window 5 --rpc 5 --repeat 1 --no-warmup --claim-check 65536".split(
        " ",
      ),
    );
    expect(cli.omnibus?.claimCheckBytes).toBe(65536);
    const report = await runBench({ ...cli, quiet: true });
    const memory = report.brokers[0]!;
    expect(memory.scenarios.e2e!.omnibus.runs.map((r) => r.error)).toEqual([undefined]);
    expect(memory.scenarios.rpc!.omnibus.summary.p50!.median).toBeGreaterThan(0);
    expect(textReport(report)).toContain("Omnibus with the claim check: bodies over 65536 B");
  }, 60_000);

  it("--scenario tracing: Omnibus with telemetry off, API without SDK and SDK + no-op exporter", async () => {
    const cli = parseCli(
      "--broker memory --scenario tracing --messages 200 --window 100 --repeat 1 --no-warmup".split(" "),
    );
    const report = await runBench({ ...cli, quiet: true });
    const memory = report.brokers[0]!;
    expect(memory.scenarios).toEqual({});
    const tracing = memory.tracing!;
    expect(tracing.skipped).toBeUndefined();
    for (const mode of TRACING_MODES) {
      const side = tracing.modes[mode];
      expect(side.runs.map((r) => r.error)).toEqual([undefined]);
      expect(side.summary.throughput!.median).toBeGreaterThan(0);
      expect(side.summary.cpuUsPerMsg!.median).toBeGreaterThan(0);
      expect(side.summary.peakRssMB!.median).toBeGreaterThan(10);
    }
    // The SDK recorded spans (a create and a process span per message, a send span per batch);
    // the other modes none.
    expect(tracing.spansPerMessage).toBeCloseTo(2.01, 1);
    expect(tracing.modes.sdk.runs[0]!.spans).toBe(402);
    expect(tracingRatio(tracing, "off", "throughput")).toBe(1);
    expect(tracingRatio(tracing, "no-sdk", "throughput")).toBeGreaterThan(0);
    expect(tracingRatio(tracing, "sdk", "cpuUsPerMsg")).toBeGreaterThan(0);
    const text = textReport(report);
    for (const label of [
      "telemetry off",
      "API, no SDK (default)",
      "SDK + no-op exporter",
      "msg/s ÷ off",
      "cpu ÷ off",
    ])
      expect(text).toContain(label);
  }, 60_000);
});

describe("the peer rows (message-queue-toolkit)", () => {
  it("mqt-rabbitmq and mqt-sqs deliver every id on the toolkit's side and on Omnibus's, and have no rpc", async () => {
    const cli = parseCli([
      "--broker",
      "mqt-rabbitmq,mqt-sqs",
      "--scenario",
      "e2e,send,rpc",
      "--messages",
      "200",
      "--rpc",
      "10",
      "--repeat",
      "1",
      "--window",
      "100",
      "--no-warmup",
    ]);
    const report = await runBench({ ...cli, quiet: true });
    expect(report.brokers.map((b) => b.broker)).toEqual(["mqt-rabbitmq", "mqt-sqs"]);
    for (const b of report.brokers) {
      expect(b.skipped).toBeUndefined();
      for (const scenario of ["e2e", "send"] as const) {
        for (const side of ["raw", "omnibus"] as const) {
          // A lost or unconfirmed id is a run error (the tracker's LossError), not a figure.
          const result = b.scenarios[scenario]![side];
          expect(result.runs.map((r) => r.error)).toEqual([undefined]);
          expect(result.summary.throughput!.median).toBeGreaterThan(0);
        }
      }
      expect(b.scenarios.rpc!.raw.skipped).toBe("message-queue-toolkit has no request-reply");
    }
  });
});
