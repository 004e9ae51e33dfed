import { describeConformance } from "@omnibus/conformance";
import { brokerUrl } from "@omnibus/conformance/brokers";
import { rabbitmq } from "../src/index.js";

const url = brokerUrl("rabbitmq");

// Default configuration: quorum queues.
describeConformance({
  name: "rabbitmq",
  adapter: () => rabbitmq({ url }),
  unreachable: () => rabbitmq({ url: "amqp://guest:guest@127.0.0.1:1", connectTimeoutMs: 2000 }),
});

// Classic queues with priorities: the same suite, plus the priority case; attempts after a
// crash come from the `redelivered` flag here.
describeConformance({
  name: "rabbitmq (classic, maxPriority 9)",
  adapter: () => rabbitmq({ url, maxPriority: 9 }),
});
