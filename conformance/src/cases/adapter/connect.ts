import { check } from "../../assert.js";
import { adapterCase } from "../../case.js";

/** connect() may be called many times, also concurrently; the escape hatch is there after it. */
export const connectAndNative = adapterCase({
  id: "adapter/connect",
  title: "connect() is idempotent, also when called concurrently, and native is the broker client after it",
  timeoutMs: 30_000,
  async run(ctx) {
    const adapter = ctx.fresh();
    await Promise.all([adapter.connect(), adapter.connect()]);
    await adapter.connect();
    const first = adapter.native as Record<string, unknown> | null | undefined;
    check(
      typeof first === "object" && first !== null,
      `native must be an object after connect(), got ${String(first)}`,
    );
    const second = adapter.native as Record<string, unknown>;
    for (const key of Object.keys(first)) {
      check(first[key] === second[key], `native.${key} must be the same object on every read`);
    }
    const problem = ctx.options.checkNative?.(first);
    check(problem === undefined, `native: ${problem}`);
  },
});
