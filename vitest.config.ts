import { defineConfig } from "vitest/config";

/**
 * One vitest run over the whole workspace, one project per package, so that
 * `vitest run --project rabbitmq` runs one adapter. Sources are used directly through the
 * `@omnibus/source` export condition: no build is needed before a test.
 */
const adapters = ["memory", "rabbitmq", "kafka", "sqs", "nats", "redis", "pubsub", "activemq", "postgres"];

/**
 * Export conditions. Not "import": vitest hands these to Node as `--conditions` for the packages it
 * leaves to Node, and a forced "import" makes `require()` inside a CommonJS package pick the ESM
 * build of a dual package (`pg` requires `pg-pool`, whose "import" entry is ESM: "Class extends
 * value [object Module]"). Vite and Node add "import" or "require" by themselves, per import.
 */
const conditions = ["@omnibus/source", "node", "default"];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    // Most of the suite waits on brokers (leases, redelivery bounds, restarts), not on the CPU:
    // three test files at a time on the 2-core CI machine (vitest's default there is one).
    maxWorkers: 3,
    projects: [
      {
        extends: true,
        test: {
          name: "core",
          include: ["packages/core/**/*.test.ts"],
          exclude: ["**/node_modules/**", "**/dist/**", "packages/core/**/*.integ.test.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "cli",
          include: ["packages/cli/**/*.test.ts"],
          exclude: ["**/node_modules/**", "**/dist/**"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          // Core against every real broker (tracing and metrics with the OpenTelemetry SDK).
          name: "core-brokers",
          include: ["packages/core/**/*.integ.test.ts"],
          exclude: ["**/node_modules/**", "**/dist/**"],
          testTimeout: 90_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: "brokers",
          include: ["packages/brokers/**/*.test.ts"],
          exclude: ["**/node_modules/**", "**/dist/**"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          // The S3 blob store against fauxqs's S3 API, with the claim-check cases on SQS and Redis.
          name: "s3-store",
          include: ["packages/s3-store/**/*.test.ts"],
          exclude: ["**/node_modules/**", "**/dist/**"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: "conformance",
          include: ["conformance/**/*.test.ts"],
          exclude: ["**/node_modules/**", "**/dist/**"],
        },
      },
      ...adapters.map((name) => ({
        extends: true as const,
        test: {
          name,
          include: [`adapters/${name}/**/*.test.ts`],
          exclude: ["**/node_modules/**", "**/dist/**"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      })),
      {
        extends: true,
        test: {
          // Repository-level checks: the README's commands on a fresh copy, packages from tarballs.
          name: "repo",
          include: ["scripts/**/*.test.ts"],
          exclude: ["**/node_modules/**", "**/dist/**"],
          testTimeout: 300_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: "bench",
          include: ["bench/**/*.test.ts"],
          exclude: ["**/node_modules/**", "**/dist/**"],
          testTimeout: 180_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          // The adapter skeleton under the whole conformance suite (both tiers).
          name: "example-skeleton",
          include: ["examples/adapter-skeleton/**/*.test.ts"],
          exclude: ["**/node_modules/**", "**/dist/**"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: "examples",
          include: ["examples/**/*.test.ts"],
          exclude: ["**/node_modules/**", "**/dist/**", "examples/adapter-skeleton/**"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
