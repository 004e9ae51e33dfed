/**
 * What core enforces once for every adapter, so that no driver has to: calls after `close()`
 * fail with `ClosedError`; `close()` runs once; every error an adapter lets through is an
 * `OmnibusError` whose message names the adapter (a raw client-library error becomes a
 * `PublishError` from a send, a `ConnectionError` otherwise, with the original as `cause`).
 * @module
 */
import { errorMessage } from "../consumer/outcome.js";
import { ClosedError, ConnectionError, OmnibusError, PublishError } from "../errors.js";
import type { Adapter } from "../spi.js";

type Kind = "send" | "other";

/** `adapter` behind core's guards. `native`, `features` and `name` are the adapter's own. */
export function portable(adapter: Adapter): Adapter {
  const name = adapter.name;
  let closing: Promise<void> | undefined;
  const translate = (error: unknown, kind: Kind): Error => {
    if (error instanceof OmnibusError) {
      if (!error.message.startsWith(`${name}:`)) {
        try {
          error.message = `${name}: ${error.message}`;
        } catch {
          // a frozen error keeps its message
        }
      }
      return error;
    }
    const message = `${name}: ${errorMessage(error)}`;
    return kind === "send"
      ? new PublishError(message, { cause: error, retryable: true })
      : new ConnectionError(message, { cause: error });
  };
  const guard = <T>(kind: Kind, call: () => Promise<T>): Promise<T> => {
    if (closing) return Promise.reject(new ClosedError(`${name}: the adapter is closed`));
    let result: Promise<T>;
    try {
      result = call();
    } catch (error) {
      return Promise.reject(translate(error, kind));
    }
    return result.catch((error: unknown) => {
      throw translate(error, kind);
    });
  };
  const wrapped: Adapter = {
    name,
    get features() {
      return adapter.features;
    },
    get native() {
      return adapter.native;
    },
    connect: () => guard("other", () => adapter.connect()),
    send: (address, messages) => guard("send", () => adapter.send(address, messages)),
    consume: (source, options) => guard("other", () => adapter.consume(source, options)),
    close: () => {
      closing ??= Promise.resolve().then(() => adapter.close());
      return closing;
    },
  };
  if (adapter.ensureGroup) wrapped.ensureGroup = (t, g) => guard("other", () => adapter.ensureGroup!(t, g));
  if (adapter.deleteQueue) wrapped.deleteQueue = (q) => guard("other", () => adapter.deleteQueue!(q));
  if (adapter.deleteTopic) wrapped.deleteTopic = (t) => guard("other", () => adapter.deleteTopic!(t));
  if (adapter.deleteGroup) wrapped.deleteGroup = (t, g) => guard("other", () => adapter.deleteGroup!(t, g));
  if (adapter.stats) wrapped.stats = (source) => guard("other", () => adapter.stats!(source));
  if (adapter.useLogger) wrapped.useLogger = (logger) => adapter.useLogger!(logger);
  return wrapped;
}
