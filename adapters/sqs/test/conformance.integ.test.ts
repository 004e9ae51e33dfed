import { describeConformance } from "@omnibus/conformance";
import { brokerUrl } from "@omnibus/conformance/brokers";
import { sqs } from "../src/index.js";
import { SQS_CONFORMANCE } from "./conformance-settings.js";

// The queue cases against ElasticMQ. It has no SNS, so the topic cases are skipped here and run
// against fauxqs (conformance-fauxqs.integ.test.ts); FIFO mode runs in conformance-fifo.
// ElasticMQ, as the broker tool runs it, keeps messages in memory only: hence `persistent: false`
// (Amazon SQS is persistent). Visibility timeout, long-poll wait and the declared bounds: see
// conformance-settings.ts.
describeConformance({
  name: "sqs on ElasticMQ (standard queues)",
  adapter: () => sqs({ endpoint: brokerUrl("sqs"), ...SQS_CONFORMANCE.adapter, persistent: false }),
  unreachable: () => sqs({ endpoint: "http://127.0.0.1:1" }),
  ...SQS_CONFORMANCE.suite,
});
