import { check } from "../../assert.js";
import type { ClientCaseContext } from "../../case.js";
import { type CaseEnv, clientCase } from "../../case.js";
import type { StreamReport } from "../../stream.js";
import { runStream } from "../../stream.js";

const SEND_TIMEOUT_MS = 10_000;

/** What every fault case asserts about a stream's report, in words. */
function judge(ctx: ClientCaseContext, report: StreamReport, what: string): void {
  ctx.note(
    `${what}: ${report.confirmed} confirmed, ${JSON.stringify(report.sendFailed)} failed, ${report.received} received, ${report.lost.length} lost, ${report.duplicates} duplicates; ` +
      report.faults
        .map(
          (f) =>
            `${f.label} ${f.ms} ms, first confirm +${f.firstConfirmMs} ms, first delivery +${f.firstDeliveryMs} ms`,
        )
        .join("; "),
  );
  check(
    report.faultErrors.length === 0,
    `the fault could not be run — the harness's failure, not the adapter's: ${report.faultErrors.join("; ")}`,
  );
  check(report.unexpected.length === 0, `${report.unexpected.length} messages received that were never sent`);
  check(
    report.hungSends === 0,
    `${report.hungSends} sends waited longer than the send timeout (${SEND_TIMEOUT_MS} ms) + 5 s during the ${what} (longest ${report.maxSendMs} ms): no send may wait without bound`,
  );
  if (ctx.features.persistent) {
    const recount = report.recount
      ? `; a fresh consumer then received ${report.recount.found} of them within ${report.recount.ms} ms (stored all along: the consumers had stopped${report.hung ? ", no delivery for 30 s" : ""}) and ${report.lost.length - report.recount.found} are gone from the broker`
      : "";
    check(
      report.lost.length === 0,
      `${report.lost.length} of ${report.confirmed} confirmed messages were lost across the ${what} (e.g. ${report.lost.slice(0, 3).join(", ")})${recount}`,
    );
  }
  check(
    !report.hung || !ctx.features.persistent,
    `the consumers stopped making progress after the ${what} with confirmed messages missing`,
  );
  const resume = ctx.t(ctx.options.resumeWithinMs);
  const last = report.faults[report.faults.length - 1];
  check(last !== undefined, "the fault never ran");
  check(
    last.firstConfirmMs !== undefined && last.firstConfirmMs <= resume,
    `after the ${what} the first send succeeded after ${last.firstConfirmMs ?? "never"} ms (must be within ${resume} ms; sends failed: ${JSON.stringify(report.sendFailed)})`,
  );
  check(
    last.firstDeliveryMs !== undefined && last.firstDeliveryMs <= resume,
    `after the ${what} the consumers resumed after ${last.firstDeliveryMs ?? "never"} ms (must be within ${resume} ms, without help)`,
  );
}

export const clientBrokerRestart = clientCase({
  id: "client/broker-restart",
  title:
    "a broker restarted gracefully and then killed mid-stream: no confirmed message lost (persistent brokers), no send waits without bound, consumers resume on their own",
  skip: ({ options }: CaseEnv) =>
    options.restart ? undefined : "no `restart` harness in the conformance options",
  timeoutMs: 240_000,
  exclusive: true,
  async run(ctx) {
    const harness = await ctx.options.restart!();
    ctx.defer(() => harness.close(), "stopping the private broker");
    const report = await runStream({
      adapter: () => {
        const a = harness.adapter();
        ctx.defer(() => a.close(), "closing an adapter");
        return a;
      },
      queue: ctx.name("restart"),
      sendTimeoutMs: SEND_TIMEOUT_MS,
      log: (line) => ctx.note(line),
      recountMs: ctx.features.persistent ? 10_000 : 0,
      faults: [
        { label: "graceful restart", at: 0.3, run: () => harness.restart() },
        { label: "kill -9 and start", at: 0.65, run: () => harness.kill() },
      ],
    });
    judge(ctx, report, "broker restart");
  },
});

export const clientConnectionCut = clientCase({
  id: "client/connection-cut",
  title:
    "every connection cut and refused for 3 s mid-stream: no confirmed message lost, no send waits without bound, consumers resume on their own",
  skip: ({ options }: CaseEnv) =>
    options.proxy ? undefined : "no `proxy` harness in the conformance options",
  timeoutMs: 180_000,
  exclusive: true,
  async run(ctx) {
    const queue = ctx.name("cut");
    // Last, once every adapter behind the proxy closed: the queue lives on the shared broker.
    ctx.defer(async () => {
      const admin = ctx.options.adapter();
      try {
        await admin.connect();
        await admin.deleteQueue?.(queue);
      } catch (error) {
        ctx.note(`left behind after the case: queue ${queue}: ${(error as Error)?.message ?? String(error)}`);
      } finally {
        await admin.close().catch(() => {});
      }
    }, "deleting the queue");
    const harness = await ctx.options.proxy!();
    ctx.defer(() => harness.close(), "closing the proxy");
    const report = await runStream({
      adapter: () => {
        const a = harness.adapter();
        ctx.defer(() => a.close(), "closing an adapter");
        return a;
      },
      queue,
      sendTimeoutMs: SEND_TIMEOUT_MS,
      log: (line) => ctx.note(line),
      recountMs: ctx.features.persistent ? 10_000 : 0,
      faults: [{ label: "connection cut", at: 0.4, run: () => harness.cut(3_000) }],
    });
    judge(ctx, report, "connection cut");
  },
});
