import { describeConformance } from "@omnibus/conformance";
import { brokerUrl } from "@omnibus/conformance/brokers";
import { sqs } from "../src/index.js";

// FIFO mode (ordering by key; no per-message delay) against fauxqs: FIFO queues, and FIFO topics
// fanning out to FIFO group queues.
const fauxqs = brokerUrl("sns");

describeConformance({
  name: "sqs + sns on fauxqs (FIFO)",
  adapter: () =>
    sqs({
      endpoint: fauxqs,
      sns: fauxqs,
      fifo: true,
      bmpOnly: true,
      visibilityTimeoutSeconds: 5,
      persistent: false,
    }),
  redeliveryAfterMs: 5_000,
});
