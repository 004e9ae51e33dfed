import { connect, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP proxy for the fault tests: like the conformance suite's `tcpProxy` (cut = reset every
 * connection and refuse new ones), plus {@link LossyProxy.swallow}: the connections open now keep
 * carrying requests to the broker, but what the broker answers on them is dropped. So a request
 * can be written by the broker while its client never hears of it (a response lost with the
 * connection), which the cut then turns into a failure the client cannot tell from "not written".
 */
export interface LossyProxy {
  readonly port: number;
  /** Drop the broker's bytes on the connections open now (new ones are not affected). */
  swallow(): void;
  /** Reset every connection and refuse new ones for `ms`. */
  cut(ms: number): Promise<void>;
  close(): Promise<void>;
}

export async function lossyProxy(target: { host: string; port: number }): Promise<LossyProxy> {
  interface Pair {
    client: Socket;
    upstream: Socket;
    swallowed: boolean;
  }
  const pairs = new Set<Pair>();
  let refusing = false;
  let server: Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer({ noDelay: true }, (client) => {
        if (refusing) {
          client.destroy();
          return;
        }
        const upstream = connect({ ...target, noDelay: true });
        const pair: Pair = { client, upstream, swallowed: false };
        pairs.add(pair);
        client.on("data", (chunk) => upstream.write(chunk));
        upstream.on("data", (chunk) => {
          if (!pair.swallowed) client.write(chunk);
        });
        const end = () => {
          pairs.delete(pair);
          client.destroy();
          upstream.destroy();
        };
        for (const socket of [client, upstream]) {
          socket.on("error", end);
          socket.on("close", end);
        }
      });
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => {
        port = (s.address() as { port: number }).port;
        server = s;
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      const s = server;
      server = undefined;
      if (s === undefined) return resolve();
      s.close(() => resolve());
    });
  const resetAll = () => {
    for (const { client, upstream } of [...pairs]) {
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    }
    pairs.clear();
  };
  await listen();
  return {
    get port() {
      return port;
    },
    swallow() {
      for (const pair of pairs) pair.swallowed = true;
    },
    async cut(ms) {
      refusing = true;
      const closed = stop();
      resetAll();
      await closed;
      await new Promise((r) => setTimeout(r, ms));
      refusing = false;
      await listen();
    },
    async close() {
      refusing = true;
      const closed = stop();
      resetAll();
      await closed;
    },
  };
}
