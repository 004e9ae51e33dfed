import { describeConformance } from "@omnibus/conformance";
import { brokerUrl } from "@omnibus/conformance/brokers";
import { sqs } from "../src/index.js";

// ElasticMQ: SQS only, so the topic cases are skipped in its block.
const elasticmq = brokerUrl("sqs");
// fauxqs: SNS and SQS in one server. A topic group is an SQS queue subscribed to the SNS topic, so
// both clients point at fauxqs and every case runs, topics included. fauxqs 1.9 refuses characters
// beyond U+FFFF (AWS takes them), hence `bmpOnly`.
const fauxqs = brokerUrl("sns");

// A consumer that dies without settling gets its messages back after 5 s (the adapter gives them
// back at once when it is closed cleanly). Neither server keeps messages across a restart here.
const common = { visibilityTimeoutSeconds: 5, persistent: false };

describeConformance({
  name: "sqs on ElasticMQ (standard queues)",
  adapter: () => sqs({ ...common, endpoint: elasticmq }),
  unreachable: () => sqs({ endpoint: "http://127.0.0.1:1" }),
  redeliveryAfterMs: 5_000,
});

describeConformance({
  name: "sqs + sns on fauxqs (standard)",
  adapter: () => sqs({ ...common, endpoint: fauxqs, sns: fauxqs, bmpOnly: true }),
  redeliveryAfterMs: 5_000,
});

describeConformance({
  name: "sqs + sns on fauxqs (FIFO: ordering by key)",
  adapter: () => sqs({ ...common, endpoint: fauxqs, sns: fauxqs, bmpOnly: true, fifo: true }),
  redeliveryAfterMs: 5_000,
});
