import { describeConformance } from "@omnibus/conformance";
import { brokerUrl } from "@omnibus/conformance/brokers";
import { sqs } from "../src/index.js";

// The queue cases against ElasticMQ. It has no SNS, so the topic cases are skipped here and run
// against fauxqs (conformance-fauxqs.integ.test.ts); FIFO mode runs in conformance-fifo.
// A consumer that dies without settling gets its messages back after the 5 s visibility timeout
// (the adapter gives them back at once when it is closed cleanly). ElasticMQ, as the broker tool
// runs it, keeps messages in memory only: hence `persistent: false` (Amazon SQS is persistent).
describeConformance({
  name: "sqs on ElasticMQ (standard queues)",
  adapter: () => sqs({ endpoint: brokerUrl("sqs"), visibilityTimeoutSeconds: 5, persistent: false }),
  unreachable: () => sqs({ endpoint: "http://127.0.0.1:1" }),
  redeliveryAfterMs: 5_000,
});
