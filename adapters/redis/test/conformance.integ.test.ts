import { describeConformance } from "@omnibus/conformance";
import { brokerUrl } from "@omnibus/conformance/brokers";
import { redis } from "../src/index.js";

describeConformance({
  name: "redis",
  adapter: () => redis({ url: brokerUrl("redis"), claimIdleMs: 1000, prefix: "omnibus-conf" }),
  unreachable: () => redis({ url: "redis://127.0.0.1:1" }),
  redeliveryAfterMs: 2000,
});
