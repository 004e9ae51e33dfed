import { randomBytes } from "node:crypto";
import { createClient, type Logger } from "@omnibus/core";
import { check } from "../../assert.js";
import { clientCase } from "../../case.js";
import { reachableText } from "../helpers.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const clientSecrets = clientCase({
  id: "client/secrets",
  title:
    "with a password in the credentials of an unreachable broker, no log line, error, cause or property a client produces holds it",
  skip: ({ options }) =>
    options.unreachable ? undefined : "no `unreachable` adapter in the conformance options",
  timeoutMs: (env) => 4 * env.options.unreachableWithinMs + 20_000,
  async run(ctx) {
    const password = `Sentinel${randomBytes(6).toString("hex")}`;
    const lines: string[] = [];
    const record =
      (level: string) =>
      (message: string, fields?: Record<string, unknown>): void => {
        lines.push(`${level} ${message} ${reachableText(fields ?? {})}`);
      };
    const logger: Logger = {
      debug: record("debug"),
      info: record("info"),
      warn: record("warn"),
      error: record("error"),
    };
    // Whatever reaches stderr too (an adapter writing to the console on its own).
    const written: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      written.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
      return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stderr.write;
    const errors: unknown[] = [];
    try {
      const within = ctx.t(ctx.options.unreachableWithinMs) + 5_000;
      const bus = createClient({
        adapter: ctx.options.unreachable!(password),
        logger,
        connectTimeoutMs: within,
        sendTimeoutMs: within,
        requestTimeoutMs: 1_000,
      });
      ctx.defer(() => bus.close(), "closing the client of the unreachable broker");
      const attempt = (p: Promise<unknown>) =>
        p.then(
          () => errors.push("(resolved)"),
          (e: unknown) => errors.push(e),
        );
      await attempt(bus.connect());
      await attempt(bus.send(ctx.name("secret"), { a: 1 }));
      await attempt(bus.consume(ctx.name("secret"), () => {}));
      await attempt(bus.request(ctx.name("secret"), 1));
      await sleep(200);
      await attempt(bus.close());
    } finally {
      process.stderr.write = original;
    }
    check(
      errors.length >= 4,
      `expected the calls to fail against an unreachable broker; got ${errors.length} outcomes`,
    );
    const leaks: string[] = [];
    errors.forEach((e, i) => {
      if (reachableText(e).includes(password)) leaks.push(`the error of call ${i + 1}`);
    });
    lines.forEach((line) => {
      if (line.includes(password)) leaks.push(`the log line ${JSON.stringify(line.slice(0, 120))}`);
    });
    written.forEach((text) => {
      if (text.includes(password)) leaks.push(`stderr output ${JSON.stringify(text.slice(0, 120))}`);
    });
    check(leaks.length === 0, `the password appears in ${leaks.join("; ")}`);
  },
});
