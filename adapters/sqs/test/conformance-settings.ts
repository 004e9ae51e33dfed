/**
 * What the three SQS conformance runs (ElasticMQ, fauxqs standard, fauxqs FIFO) configure the
 * adapter with, and what they declare to the suite about it. One place, so that the declared
 * lease always equals the configured visibility timeout.
 * @module
 */
import { TEST_PASSWORD } from "@omnibus/brokers";

/**
 * Seconds a received message stays hidden: short, so that the lease case (3 leases) is too, but
 * not so short that a heartbeat delayed by a busy machine (test files run three at a time) lets
 * buffered messages go visible again (2 s did, under load: duplicates in client/competing).
 */
const VISIBILITY_TIMEOUT_SECONDS = 3;

export const SQS_CONFORMANCE = {
  adapter: {
    visibilityTimeoutSeconds: VISIBILITY_TIMEOUT_SECONDS,
    // stop() waits for the receives in flight (SQS cannot cancel one: an aborted long poll still
    // takes messages on the server, see SqsConsumer.stop), so the long-poll wait bounds how long
    // stop() and close() take. 1 s keeps them short; the default (5 s) would pass the suite's
    // 15 s bound on stop() too, but a stopping consumer would then still receive what comes back
    // during those seconds (e.g. a message it nacked with a delay shorter than the wait).
    waitTimeSeconds: 1,
    // ElasticMQ and fauxqs take any key: the secret is the test password, scanned for by
    // client/secrets-live.
    credentials: { accessKeyId: "omnibus", secretAccessKey: TEST_PASSWORD },
  },
  suite: {
    // The lease the adapter runs with: the visibility timeout. The lease case holds a delivery
    // for three of them, which only the visibility heartbeat survives.
    leaseMs: VISIBILITY_TIMEOUT_SECONDS * 1000,
    // A consumer that dies without settling gets its messages back after the visibility timeout
    // (one closed cleanly gives them back at once).
    redeliveryAfterMs: VISIBILITY_TIMEOUT_SECONDS * 1000,
    // SQS counts visibility and delays in whole seconds, and a nack is a visibility change that
    // SQS applies from when it processes it: a message nacked with 20 ms comes back after
    // ceil(20 / 1000) = 1 s plus the round trips, just over the default bound of 1000 ms (seen:
    // 1,032-1,037 ms on ElasticMQ). A second more, as the option's documentation suggests for SQS.
    redeliveryBoundMs: 2_000,
    password: TEST_PASSWORD,
  },
} as const;
