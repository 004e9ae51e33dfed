import { brokerUrl } from "@omnibus/brokers";
import { describeConformance } from "@omnibus/conformance";
import { sqs } from "../src/index.js";
import { SQS_CONFORMANCE } from "./conformance-settings.js";

// FIFO mode (ordering by key; no per-message delay) against fauxqs: FIFO queues, and FIFO topics
// fanning out to FIFO group queues. Visibility timeout, long-poll wait and the declared bounds:
// see conformance-settings.ts.
const fauxqs = brokerUrl("sns");

describeConformance({
  concurrency: 4, // cases overlap (the restart and cut cases run alone)
  name: "sqs + sns on fauxqs (FIFO)",
  adapter: () =>
    sqs({
      endpoint: fauxqs,
      sns: fauxqs,
      fifo: true,
      bmpOnly: true,
      ...SQS_CONFORMANCE.adapter,
      persistent: false,
    }),
  ...SQS_CONFORMANCE.suite,
});
