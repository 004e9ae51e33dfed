import { brokerUrl, proxyHarness, restartHarness, withTestPassword } from "@omnibus/brokers";
import { describeConformance } from "@omnibus/conformance";
import { nats } from "../src/index.js";

/**
 * The run's lease: the durables' `ack_wait`. Small, so that the lease case (a delivery held for
 * three leases by a live consumer) proves the `+WPI` heartbeats rather than outlasting a 30 s
 * default, and so that a delivery whose consumer vanished without a NAK is back within
 * `redeliveryAfterMs`.
 */
const ACK_WAIT_MS = 2_000;
// A server without auth takes any user and password: the test password, scanned for by secrets-live.
const live = withTestPassword(brokerUrl("nats"), "omnibus");

describeConformance({
  concurrency: 4, // cases overlap (the restart and cut cases run alone)
  name: "nats",
  adapter: () => nats({ url: live.url, ackWaitMs: ACK_WAIT_MS }),
  password: live.password,
  // Nothing listens on port 1; the password must not show in any error.
  unreachable: (password) => nats({ url: `nats://omnibus:${encodeURIComponent(password)}@127.0.0.1:1` }),
  leaseMs: ACK_WAIT_MS,
  // A consumer that closes gives back what it held at once (NAK on close); one whose connection
  // vanished without that is redelivered by the server after ack_wait (2 s here).
  redeliveryAfterMs: 5_000,
  restart: restartHarness("nats", (url) => nats({ url, ackWaitMs: ACK_WAIT_MS })),
  proxy: proxyHarness(brokerUrl("nats"), (address) =>
    nats({ url: `nats://${address}`, ackWaitMs: ACK_WAIT_MS }),
  ),
});
