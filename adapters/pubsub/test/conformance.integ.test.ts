import { absentReason, brokerUrl, proxyHarness, restartHarness } from "@omnibus/brokers";
import { allCases, describeConformance, runCases } from "@omnibus/conformance";
import { describe, expect, it } from "vitest";
import { pubsub } from "../src/index.js";

/**
 * The run's lease: short, so that the lease case (a delivery held for three leases by a live
 * consumer) proves the `modifyAckDeadline` heartbeat in seconds rather than minutes.
 */
const LEASE_MS = 2_000;

const adapterFor = (emulatorHost: string) =>
  pubsub({ emulatorHost, projectId: "omnibus", leaseMs: LEASE_MS });

// Where the emulator is not installed (and none answers), the suite is reported skipped with why.
const absent = await absentReason("pubsub");
if (absent !== undefined) {
  describe.skip(`conformance: pubsub (skipped: ${absent})`, () => {
    it("every case", () => {});
  });
} else {
  describeConformance({
    concurrency: 4, // cases overlap (the restart and cut cases run alone)
    name: "pubsub",
    adapter: () => adapterFor(brokerUrl("pubsub")),
    // Nothing listens on port 1; the password (a service-account key here) must not show anywhere.
    unreachable: (password) =>
      pubsub({
        emulatorHost: "127.0.0.1:1",
        projectId: "omnibus",
        clientConfig: {
          credentials: { client_email: "omnibus@example.iam.gserviceaccount.com", private_key: password },
        },
      }),
    leaseMs: LEASE_MS,
    // Nack delays are whole seconds on the wire (modifyAckDeadline), rounded up.
    redeliveryBoundMs: 2_000,
    restart: restartHarness("pubsub", adapterFor),
    proxy: proxyHarness(brokerUrl("pubsub"), adapterFor),
  });

  // Ordering by key is opt-in (`messageOrdering`: a nack with ordering on brings back the later
  // messages of its key): the ordering cases of both tiers on an adapter with it on.
  describe("conformance: pubsub with messageOrdering", () => {
    it("adapter/ordering and client/ordering pass", { timeout: 240_000 }, async () => {
      const results = await runCases(
        {
          name: "pubsub+ordering",
          adapter: () =>
            pubsub({
              emulatorHost: brokerUrl("pubsub"),
              projectId: "omnibus",
              leaseMs: LEASE_MS,
              messageOrdering: true,
            }),
          leaseMs: LEASE_MS,
        },
        { cases: allCases.filter((c) => c.id.endsWith("/ordering")) },
      );
      expect(
        results.map((r) => `${r.id} ${r.status}${r.status === "passed" ? "" : `: ${r.message}`}`),
      ).toEqual(["adapter/ordering passed", "client/ordering passed"]);
    });
  });
}
