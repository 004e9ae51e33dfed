import { brokerUrl, proxyHarness, restartHarness, withTestPassword } from "@omnibus/brokers";
import { describeConformance } from "@omnibus/conformance";
import { shortId } from "@omnibus/core";
import { Redis } from "ioredis";
import { afterAll } from "vitest";
import { redis } from "../src/index.js";

// A prefix of this run only: the cleanup below cannot touch a concurrent run's keys.
const PREFIX = `omnibus-conf-${shortId()}`;
// The lease: a delivery not renewed for this long goes to another consumer (XAUTOCLAIM).
const CLAIM_IDLE_MS = 1000;
// The default user without a password takes any: the test password, scanned for by secrets-live.
const live = withTestPassword(brokerUrl("redis"), "default");

describeConformance({
  concurrency: 4, // cases overlap (the restart and cut cases run alone)
  name: "redis",
  adapter: () => redis({ url: live.url, claimIdleMs: CLAIM_IDLE_MS, prefix: PREFIX }),
  password: live.password,
  // Nothing listens on port 1; the password must not show in any error.
  unreachable: (password) => redis({ url: `redis://omnibus:${encodeURIComponent(password)}@127.0.0.1:1` }),
  redeliveryAfterMs: 2000,
  leaseMs: CLAIM_IDLE_MS,
  // A private server with AOF and appendfsync always: what the adapter's `persistent` asks for.
  restart: restartHarness("redis", (url) => redis({ url, persistent: true, claimIdleMs: CLAIM_IDLE_MS }), {
    persistence: true,
  }),
  proxy: proxyHarness(brokerUrl("redis"), (address) =>
    redis({ url: `redis://${address}`, claimIdleMs: CLAIM_IDLE_MS, prefix: PREFIX }),
  ),
});

// Remove every queue and topic the suite made.
afterAll(async () => {
  const admin = new Redis(brokerUrl("redis"));
  let cursor = "0";
  do {
    const [next, keys] = await admin.scan(cursor, "MATCH", `${PREFIX}:*`, "COUNT", 1000);
    if (keys.length > 0) await admin.del(...keys);
    cursor = next;
  } while (cursor !== "0");
  admin.disconnect();
});
