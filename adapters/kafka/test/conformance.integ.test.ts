import { brokerUrl, kafkaProxyHarness, kafkaTestCredentials, restartHarness } from "@omnibus/brokers";
import { describeConformance } from "@omnibus/conformance";
import { kafka } from "../src/index.js";

// The SASL listener of the broker tool's Kafka, its user's password the test one, for secrets-live:
// every case of this run logs in with it.
const live = await kafkaTestCredentials(brokerUrl("kafka"));
if (live.password === undefined) console.warn(`kafka: no test user, secrets-live skipped: ${live.reason}`);

describeConformance({
  concurrency: 4, // cases overlap (the restart and cut cases run alone)
  name: "kafka",
  adapter: () => kafka({ brokers: live.url }),
  password: live.password,
  // Nothing listens on port 1; the SASL password must not show in any error.
  unreachable: (password) =>
    kafka({
      brokers: "127.0.0.1:1",
      retries: 1,
      connectionTimeoutMs: 500,
      sasl: { mechanism: "plain", username: "omnibus", password },
    }),
  // A consumer that closes commits what it settled and leaves its group at once; the rest of
  // its partition is fetched again by the next member.
  redeliveryAfterMs: 5_000,
  // A member keeps its partitions until it closes or the group rebalances (a stopped member is
  // then given only the partitions it still has unsettled deliveries of).
  ownsPartitions: true,
  // A private broker (KRaft, one node) restarted and killed; and one behind a TCP proxy that it
  // advertises, since Kafka clients connect to the advertised address.
  restart: restartHarness("kafka", (brokers) => kafka({ brokers })),
  proxy: kafkaProxyHarness((brokers) => kafka({ brokers })),
  // Consumers fetch again as soon as the broker answers (see the README, Consuming).
  resumeWithinMs: 5_000,
});
