import { brokerUrl, proxyHarness, restartHarness, withTestPassword } from "@omnibus/brokers";
import { describeConformance } from "@omnibus/conformance";
import { postgres } from "../src/index.js";

/**
 * The run's lease: small, so that the lease case (a delivery held for three leases by a live
 * consumer) proves the extensions rather than outlasting a 30 s default, and so that what a
 * vanished consumer held is back within `redeliveryAfterMs`.
 */
const LEASE_MS = 2_000;
// Trust auth takes any password: the test password, scanned for by secrets-live.
const live = withTestPassword(brokerUrl("postgres"), "postgres");

/** The proxy's address in the shared PostgreSQL's URL (user and database kept). */
function through(address: string): string {
  const url = new URL(brokerUrl("postgres"));
  url.host = address;
  return url.toString();
}

describeConformance({
  concurrency: 4, // cases overlap (the restart and cut cases run alone)
  name: "postgres",
  adapter: () => postgres({ url: live.url, leaseMs: LEASE_MS }),
  password: live.password,
  // Nothing listens on port 1; the password must not show in any error.
  unreachable: (password) =>
    postgres({
      url: `postgres://omnibus:${encodeURIComponent(password)}@127.0.0.1:1/test`,
      connectTimeoutMs: 2_000,
    }),
  leaseMs: LEASE_MS,
  redeliveryAfterMs: 5_000,
  restart: restartHarness("postgres", (url) => postgres({ url, leaseMs: LEASE_MS })),
  proxy: proxyHarness(brokerUrl("postgres"), (address) =>
    postgres({ url: through(address), leaseMs: LEASE_MS }),
  ),
  checkNative: (native) => {
    const n = native as { pool?: { query?: unknown }; schema?: unknown };
    return typeof n.pool?.query === "function" && n.schema === "omnibus"
      ? undefined
      : "native is not { pool: pg.Pool, schema }";
  },
});
