import { brokerUrl } from "@omnibus/brokers";
import { describeConformance } from "@omnibus/conformance";
import { sqs } from "../src/index.js";
import { SQS_CONFORMANCE } from "./conformance-settings.js";

// Every case, topics included, against fauxqs: SNS and SQS in one server. A topic group is an SQS
// queue subscribed to the SNS topic, so both clients point at fauxqs. fauxqs 1.9 refuses
// characters beyond U+FFFF (Amazon SQS takes them), hence `bmpOnly`; it keeps nothing across a
// restart, hence `persistent: false`. Visibility timeout, long-poll wait and the declared bounds:
// see conformance-settings.ts.
const fauxqs = brokerUrl("sns");

describeConformance({
  concurrency: 4, // cases overlap (the restart and cut cases run alone)
  name: "sqs + sns on fauxqs (standard)",
  adapter: () =>
    sqs({ endpoint: fauxqs, sns: fauxqs, bmpOnly: true, ...SQS_CONFORMANCE.adapter, persistent: false }),
  ...SQS_CONFORMANCE.suite,
});
