import { describeConformance } from "@omnibus/conformance";
import { brokerUrl } from "@omnibus/conformance/brokers";
import { sqs } from "../src/index.js";

// Every case, topics included, against fauxqs: SNS and SQS in one server. A topic group is an SQS
// queue subscribed to the SNS topic, so both clients point at fauxqs. fauxqs 1.9 refuses
// characters beyond U+FFFF (Amazon SQS takes them), hence `bmpOnly`; it keeps nothing across a
// restart, hence `persistent: false`.
const fauxqs = brokerUrl("sns");

describeConformance({
  name: "sqs + sns on fauxqs (standard)",
  adapter: () =>
    sqs({ endpoint: fauxqs, sns: fauxqs, bmpOnly: true, visibilityTimeoutSeconds: 5, persistent: false }),
  redeliveryAfterMs: 5_000,
});
