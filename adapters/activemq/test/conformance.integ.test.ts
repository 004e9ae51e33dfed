import { artemisTestCredentials, brokerUrl, proxyHarness, restartHarness } from "@omnibus/brokers";
import { describeConformance } from "@omnibus/conformance";
import { activemq } from "../src/index.js";

/** `amqp://user:pass@host:port` of the broker tool → the adapter's `activemq://` URL. */
const toActiveMQ = (url: string) => url.replace(/^amqp:/, "activemq:");

// The broker tool's user with the test password, for secrets-live.
const live = await artemisTestCredentials(brokerUrl("activemq"));
if (live.password === undefined) console.warn(`activemq: no test user, secrets-live skipped: ${live.reason}`);

describeConformance({
  concurrency: 4, // cases overlap (the restart and cut cases run alone)
  name: "activemq",
  adapter: () => activemq({ url: toActiveMQ(live.url) }),
  password: live.password,
  // Nothing listens on port 1; the password must not show in any error.
  unreachable: (password) =>
    activemq({ url: `activemq://artemis:${encodeURIComponent(password)}@127.0.0.1:1` }),
  // A consumer whose link closes hands back what it held at once; one whose connection vanished
  // is redelivered when the broker notices the dead connection.
  redeliveryAfterMs: 5_000,
  restart: restartHarness("activemq", (url) => activemq({ url: toActiveMQ(url) })),
  proxy: proxyHarness(brokerUrl("activemq"), (address) =>
    activemq({ url: toActiveMQ(live.url).replace(/@[^/?]+/, `@${address}`) }),
  ),
  checkNative: (native) => {
    const n = native as { connection?: { is_open?: unknown }; container?: { connect?: unknown } };
    if (typeof n.connection?.is_open !== "function" || typeof n.container?.connect !== "function")
      return "native is not { container, connection } of rhea";
    return undefined;
  },
});
