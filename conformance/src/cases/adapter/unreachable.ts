import { randomBytes } from "node:crypto";
import { ErrorCode } from "@omnibus/core";
import { check, rejectsWith } from "../../assert.js";
import { adapterCase } from "../../case.js";
import { reachableText } from "../helpers.js";

export const unreachable = adapterCase({
  id: "adapter/unreachable",
  title:
    "an unreachable broker fails connect() and send() within the declared deadline with a typed error; no error, cause or property holds the password",
  skip: ({ options }) =>
    options.unreachable ? undefined : "no `unreachable` adapter in the conformance options",
  timeoutMs: (env) => 3 * env.options.unreachableWithinMs + 10_000,
  async run(ctx) {
    const password = `Sentinel${randomBytes(6).toString("hex")}`;
    const adapter = ctx.options.unreachable!(password);
    ctx.defer(() => adapter.close(), "closing the unreachable adapter");
    const within = ctx.t(ctx.options.unreachableWithinMs);
    const started = Date.now();
    const error = await rejectsWith(
      adapter.connect(),
      [ErrorCode.Connection, ErrorCode.Config],
      "connect() to an unreachable broker",
      within,
    );
    ctx.note(`connect() failed after ${Date.now() - started} ms`);
    check(
      !reachableText(error).includes(password),
      "the error of connect() to an unreachable broker exposes the password (in its message, stack, cause chain or properties)",
    );
    const sendError = await rejectsWith(
      adapter.send({ kind: "queue", name: ctx.name("nowhere") }, [
        { id: "x", body: new Uint8Array(1), headers: {}, timestamp: Date.now() },
      ]),
      [ErrorCode.Connection, ErrorCode.Config, ErrorCode.Publish, ErrorCode.Closed],
      "send() through an adapter whose connect() failed",
      within,
    );
    check(
      !reachableText(sendError).includes(password),
      "the error of a send to an unreachable broker exposes the password",
    );
  },
});
