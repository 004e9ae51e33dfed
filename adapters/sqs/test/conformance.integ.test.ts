import { brokerUrl, proxyHarness, restartHarness } from "@omnibus/brokers";
import { describeConformance } from "@omnibus/conformance";
import { sqs } from "../src/index.js";
import { SQS_CONFORMANCE } from "./conformance-settings.js";

// The queue cases against ElasticMQ. It has no SNS, so the topic cases are skipped here and run
// against fauxqs (conformance-fauxqs.integ.test.ts); FIFO mode runs in conformance-fifo.
// ElasticMQ, as the broker tool runs it, keeps messages in memory only: hence `persistent: false`
// (Amazon SQS is persistent). Visibility timeout, long-poll wait and the declared bounds: see
// conformance-settings.ts.
describeConformance({
  concurrency: 4, // cases overlap (the restart and cut cases run alone)
  name: "sqs on ElasticMQ (standard queues)",
  adapter: () => sqs({ endpoint: brokerUrl("sqs"), ...SQS_CONFORMANCE.adapter, persistent: false }),
  // Nothing listens on port 1; the secret key must not show in any error.
  unreachable: (password) =>
    sqs({
      endpoint: "http://127.0.0.1:1",
      credentials: { accessKeyId: "omnibus", secretAccessKey: password },
    }),
  ...SQS_CONFORMANCE.suite,
  // A private ElasticMQ (in memory: the restart case proves that consumers resume, not durability),
  // and a TCP proxy in front of the shared one.
  restart: restartHarness("sqs", (endpoint) =>
    sqs({ endpoint, ...SQS_CONFORMANCE.adapter, persistent: false }),
  ),
  proxy: proxyHarness(brokerUrl("sqs"), (address) =>
    sqs({ endpoint: `http://${address}`, ...SQS_CONFORMANCE.adapter, persistent: false }),
  ),
});
