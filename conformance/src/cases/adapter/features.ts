import { check } from "../../assert.js";
import { adapterCase } from "../../case.js";

/** The declared features are well-formed: the suite and core plan from them. */
export const featuresDeclared = adapterCase({
  id: "adapter/features",
  title: "name and features are declared with valid values",
  timeoutMs: 5_000,
  async run(ctx) {
    const adapter = ctx.fresh();
    check(
      typeof adapter.name === "string" && /^[a-z][a-z0-9-]*$/.test(adapter.name),
      `name must be a short lowercase word, got ${JSON.stringify(adapter.name)}`,
    );
    const f = adapter.features as unknown as Record<string, unknown>;
    for (const key of ["persistent", "fanout", "orderingByKey", "delay", "priority"]) {
      check(typeof f[key] === "boolean", `features.${key} must be a boolean, got ${String(f[key])}`);
    }
    const positive = (key: string) =>
      check(
        typeof f[key] === "number" && (f[key] as number) > 0,
        `features.${key} must be a positive number, got ${String(f[key])}`,
      );
    positive("maxMessageBytes");
    positive("maxBatchSize");
    check(
      Number.isInteger(f.maxBatchSize) || f.maxBatchSize === Number.POSITIVE_INFINITY,
      `features.maxBatchSize must be an integer or Infinity, got ${String(f.maxBatchSize)}`,
    );
    if (f.delay) positive("maxDelayMs");
    if (f.priority)
      check(
        Number.isInteger(f.maxPriority) && (f.maxPriority as number) >= 1,
        `features.maxPriority must be an integer >= 1 when priority is declared, got ${String(f.maxPriority)}`,
      );
  },
});
