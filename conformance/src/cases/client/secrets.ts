import { randomBytes } from "node:crypto";
import { createClient, DeadLetterError, type Logger } from "@omnibus/core";
import { ConformanceFailure, check, settlesWithin } from "../../assert.js";
import { clientCase } from "../../case.js";
import { reachableText } from "../helpers.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * What a client produced while a case ran: every log line (all levels, fields included), every
 * write to stdout and stderr (a client library printing on its own), and the outcome of every
 * call recorded with {@link Capture.attempt}.
 */
class Capture {
  readonly lines: string[] = [];
  readonly written: string[] = [];
  readonly errors: unknown[] = [];
  readonly #restore: (() => void)[] = [];

  readonly logger: Logger = {
    debug: this.#record("debug"),
    info: this.#record("info"),
    warn: this.#record("warn"),
    error: this.#record("error"),
  };

  #record(level: string) {
    return (message: string, fields?: Record<string, unknown>): void => {
      this.lines.push(`${level} ${message} ${reachableText(fields ?? {})}`);
    };
  }

  /** Starts recording stdout and stderr (still written through). */
  start(): void {
    for (const stream of [process.stdout, process.stderr]) {
      const original = stream.write.bind(stream);
      stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
        this.written.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
        return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof stream.write;
      this.#restore.push(() => {
        stream.write = original;
      });
    }
  }

  stop(): void {
    for (const restore of this.#restore.splice(0)) restore();
  }

  /** Awaits `p`, recording its error (or that it resolved); a failed assertion fails the case. */
  attempt(p: Promise<unknown>): Promise<void> {
    return p.then(
      () => {
        this.errors.push("(resolved)");
      },
      (e: unknown) => {
        if (e instanceof ConformanceFailure) throw e;
        this.errors.push(e);
      },
    );
  }

  /** Where `password` shows: errors (with their whole cause chain), log lines, output. */
  leaks(password: string): string[] {
    const leaks: string[] = [];
    this.errors.forEach((e, i) => {
      if (reachableText(e).includes(password)) leaks.push(`the error of call ${i + 1}`);
    });
    for (const line of this.lines) {
      if (line.includes(password)) leaks.push(`the log line ${JSON.stringify(line.slice(0, 120))}`);
    }
    for (const text of this.written) {
      if (text.includes(password)) leaks.push(`output ${JSON.stringify(text.slice(0, 120))}`);
    }
    return leaks;
  }
}

export const clientSecrets = clientCase({
  id: "client/secrets",
  title:
    "with a password in the credentials of an unreachable broker, no log line, error, cause or property a client produces holds it",
  skip: ({ options }) =>
    options.unreachable ? undefined : "no `unreachable` adapter in the conformance options",
  timeoutMs: (env) => 4 * env.options.unreachableWithinMs + 20_000,
  async run(ctx) {
    const password = `Sentinel${randomBytes(6).toString("hex")}`;
    const capture = new Capture();
    capture.start();
    try {
      const within = ctx.t(ctx.options.unreachableWithinMs) + 5_000;
      const bus = createClient({
        adapter: ctx.options.unreachable!(password),
        logger: capture.logger,
        connectTimeoutMs: within,
        sendTimeoutMs: within,
        requestTimeoutMs: 1_000,
      });
      ctx.defer(() => bus.close(), "closing the client of the unreachable broker");
      await capture.attempt(bus.connect());
      await capture.attempt(bus.send(ctx.name("secret"), { a: 1 }));
      await capture.attempt(bus.consume(ctx.name("secret"), () => {}));
      await capture.attempt(bus.request(ctx.name("secret"), 1));
      await sleep(200);
      await capture.attempt(bus.close());
    } finally {
      capture.stop();
    }
    check(
      capture.errors.length >= 4,
      `expected the calls to fail against an unreachable broker; got ${capture.errors.length} outcomes`,
    );
    const leaks = capture.leaks(password);
    check(leaks.length === 0, `the password appears in ${leaks.join("; ")}`);
  },
});

export const clientSecretsLive = clientCase({
  id: "client/secrets-live",
  title:
    "with the live broker's password in the credentials, no log line, output or error of a client (a failing handler, a dead letter, a request nobody answers, a bad name, a send after close) holds it",
  skip: ({ options }) => (options.password ? undefined : "no `password` in the conformance options"),
  timeoutMs: 60_000,
  async run(ctx) {
    const password = ctx.options.password!;
    const capture = new Capture();
    capture.start();
    try {
      const client = await ctx.client({ logger: capture.logger, requestTimeoutMs: ctx.t(500) });
      const queue = ctx.name("secret-live");
      const seen = new Map<string, number>();
      await client.consume(queue, (m) => {
        const n = (seen.get(m.id) ?? 0) + 1;
        seen.set(m.id, n);
        const body = m.body as { kind: string };
        if (body.kind === "retry" && n === 1) throw new Error("a failure the retry mends");
        if (body.kind === "dead") throw new DeadLetterError("a message dead-lettered on purpose");
      });
      const dead: string[] = [];
      await client.consume(`${queue}.dlq`, (m) => {
        dead.push(m.id);
      });
      const retried = await client.send(queue, { kind: "retry" });
      const deadId = await client.send(queue, { kind: "dead" });
      await ctx.waitUntil(
        () => (seen.get(retried) ?? 0) >= 2 && dead.includes(deadId),
        ctx.t(20_000),
        () =>
          `the failing handler's message handled ${seen.get(retried) ?? 0} times (2 expected), the dead letter ${dead.includes(deadId) ? "arrived" : "did not arrive"}`,
      );
      // Each call bounded: one that never settles fails the case (it must fail, and on time).
      const bounded = (p: Promise<unknown>, what: string) =>
        capture.attempt(settlesWithin(p, ctx.t(15_000), what));
      await bounded(
        client.request(ctx.name("secret-nobody"), { q: 1 }),
        "a request nobody answers (timeout 500 ms)",
      );
      await bounded(client.send("", { bad: "name" }), "a send to an empty name");
      await bounded(client.close(), "close()");
      await bounded(client.send(queue, { after: "close" }), "a send after close()");
    } finally {
      capture.stop();
    }
    // The request nobody answers, the bad name and the send after close must each have failed:
    // their errors are what the scan is for.
    const [request, badName, , afterClose] = capture.errors;
    check(
      [request, badName, afterClose].every((e) => e instanceof Error),
      () =>
        `expected the request, the bad name and the send after close to fail; got ${[request, badName, afterClose].map((e) => (e instanceof Error ? e.name : String(e))).join(", ")}`,
    );
    const leaks = capture.leaks(password);
    check(leaks.length === 0, `the password appears in ${leaks.join("; ")}`);
  },
});
