import { describeConformance } from "@omnibus/conformance";
import { brokerUrl } from "@omnibus/conformance/brokers";
import { nats } from "../src/index.js";

describeConformance({
  name: "nats",
  adapter: () => nats({ url: brokerUrl("nats") }),
  unreachable: () => nats({ url: "nats://127.0.0.1:1" }),
  // A consumer that dies releases what it held (NAK on close) or the server redelivers after
  // ack_wait (30 s) when the process is gone; the crash case closes the adapter.
  redeliveryAfterMs: 5_000,
});
