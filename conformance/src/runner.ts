import type { Adapter, Features } from "@omnibus/core";
import { show } from "./assert.js";
import type { AdapterCaseContext, Case, CaseEnv, ClientCaseContext, Tier } from "./case.js";
import { allCases } from "./cases/index.js";
import { AdapterContext, ClientContext } from "./context.js";
import {
  type ConformanceOptions,
  type ResolvedConformanceOptions,
  resolveConformanceOptions,
} from "./options.js";

/** How one case ended. */
export type CaseStatus =
  /** Every assertion held. */
  | "passed"
  /** An assertion failed, or the adapter threw where it must not. */
  | "failed"
  /** The case did not finish within its deadline (a hang: no assertion decided it). */
  | "timed-out"
  /** The case does not apply: a feature not declared or an option not given (see `reason`). */
  | "skipped"
  /** Left out by the run's filter or tier selection. */
  | "filtered";

/** The result of one case. */
export interface CaseResult {
  readonly id: string;
  readonly tier: Tier;
  readonly title: string;
  readonly status: CaseStatus;
  /** Why it was skipped or filtered out. */
  readonly reason?: string;
  /** What failed, in words. */
  readonly message?: string;
  /** Milliseconds the case ran. */
  readonly ms: number;
  /** Figures the case measured. */
  readonly notes: readonly string[];
}

/** Options of {@link runCases}. */
export interface RunCasesOptions {
  /** Only cases whose id or title matches (a substring or a RegExp). */
  filter?: string | RegExp;
  /** Tiers to run. @default both */
  tiers?: readonly Tier[];
  /** Stop after the first case that fails or times out (the fault scorer does). @default false */
  stopOnFirstFailure?: boolean;
  /** Called before each case starts. */
  onStart?: (c: Case<any>) => void;
  /** Called with each result as it comes. */
  onResult?: (result: CaseResult) => void;
  /** The cases to run, in order. @default every case of the suite */
  cases?: readonly Case<any>[];
  /**
   * How many cases run at once (exclusive cases alone). Results are reported, and resolved, in
   * the cases' order. @default the conformance options' `concurrency` (1)
   */
  concurrency?: number;
}

/**
 * A bound on how many cases run at once, with exclusive cases alone: `run(c, task)` resolves
 * with `task()` once a slot is free, and for an exclusive case once nothing else runs (the cases
 * queued after it wait for it). Slots are handed out in call order.
 */
export function caseLimiter(concurrency: number): <T>(c: Case<any>, task: () => Promise<T>) => Promise<T> {
  let running = 0;
  let exclusiveRunning = false;
  const queue: { exclusive: boolean; start: () => void }[] = [];
  const pump = () => {
    while (queue.length > 0 && !exclusiveRunning) {
      const head = queue[0]!;
      if (head.exclusive ? running > 0 : running >= concurrency) return;
      queue.shift();
      running++;
      if (head.exclusive) exclusiveRunning = true;
      head.start();
    }
  };
  return <T>(c: Case<any>, task: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const exclusive = c.exclusive === true;
      queue.push({
        exclusive,
        start: () => {
          task()
            .then(resolve, reject)
            .finally(() => {
              running--;
              if (exclusive) exclusiveRunning = false;
              pump();
            });
        },
      });
      pump();
    });
}

/** The features an adapter declares (read from a fresh, unconnected instance). */
export function declaredFeatures(options: ResolvedConformanceOptions): Features {
  const adapter: Adapter = options.adapter();
  const features = adapter.features;
  void Promise.resolve()
    .then(() => adapter.close())
    .catch(() => {});
  return features;
}

/** Why `c` does not apply, or undefined. */
export function skipReason(c: Case<any>, env: CaseEnv): string | undefined {
  return c.skip?.(env);
}

/** The deadline of a case run, in ms, with the options' scale and redelivery times included. */
export function caseTimeout(c: Case<any>, env: CaseEnv): number {
  const base = typeof c.timeoutMs === "function" ? c.timeoutMs(env) : c.timeoutMs;
  return Math.round(base * env.options.timeScale);
}

/**
 * Run one case: build its context, run it within its deadline, clean up. Never throws: every
 * outcome is a {@link CaseResult}.
 */
export async function runCase(c: Case<any>, env: CaseEnv): Promise<CaseResult> {
  const started = Date.now();
  const base = { id: c.id, tier: c.tier, title: c.title };
  const reason = skipReason(c, env);
  if (reason !== undefined) return { ...base, status: "skipped", reason, ms: 0, notes: [] };
  const ctx =
    c.tier === "adapter"
      ? new AdapterContext(env.options, env.features)
      : new ClientContext(env.options, env.features);
  const timeoutMs = caseTimeout(c, env);
  let timer: NodeJS.Timeout | undefined;
  let status: CaseStatus = "passed";
  let message: string | undefined;
  // Anything that escapes as an unhandled rejection or exception while the case runs would
  // crash an application's process: it fails the case.
  const escaped: string[] = [];
  const onEscape = (reason: unknown) => escaped.push(show(reason, 400));
  process.on("unhandledRejection", onEscape);
  process.on("uncaughtException", onEscape);
  try {
    const outcome = await Promise.race([
      (c.run as (ctx: AdapterCaseContext | ClientCaseContext) => Promise<void>)(ctx).then(
        () => "done" as const,
      ),
      new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), timeoutMs);
      }),
    ]);
    if (outcome === "timeout") {
      status = "timed-out";
      message = `the case did not finish within ${timeoutMs} ms`;
    }
  } catch (error) {
    status = "failed";
    message =
      error instanceof Error && error.name === "ConformanceFailure"
        ? error.message
        : `unexpected error: ${show(error, 600)}`;
  } finally {
    clearTimeout(timer);
  }
  const problems = await ctx.cleanup();
  process.off("unhandledRejection", onEscape);
  process.off("uncaughtException", onEscape);
  if (status === "passed" && escaped.length > 0) {
    status = "failed";
    message = `an unhandled rejection or exception escaped (it would crash the process): ${escaped[0]}`;
  }
  if (status === "passed" && problems.length > 0) {
    status = "failed";
    message = `after the case: ${problems.join("; ")}`;
  }
  return {
    ...base,
    status,
    ...(message === undefined ? {} : { message }),
    ms: Date.now() - started,
    notes: ctx.notes,
  };
}

/** The result of a case that was not run, with why. */
function filtered(c: Case<any>, reason: string): CaseResult {
  return { id: c.id, tier: c.tier, title: c.title, status: "filtered", reason, ms: 0, notes: [] };
}

function matches(c: Case<any>, filter: string | RegExp | undefined): boolean {
  if (filter === undefined) return true;
  if (typeof filter === "string") return c.id.includes(filter) || c.title.includes(filter);
  return filter.test(c.id) || filter.test(c.title);
}

/**
 * Run the suite (or `options.cases`) on an adapter, `concurrency` cases at a time (one after another
 * by default), without any test framework. Resolves with one result per case, in the cases' order,
 * skipped and filtered ones included.
 */
export async function runCases(
  conformance: ConformanceOptions,
  options: RunCasesOptions = {},
): Promise<CaseResult[]> {
  const resolved = resolveConformanceOptions(conformance);
  const env: CaseEnv = { features: declaredFeatures(resolved), options: resolved };
  const tiers = options.tiers ?? ["adapter", "client"];
  const limit = caseLimiter(options.concurrency ?? resolved.concurrency);
  let stopped = false;
  const one = async (c: Case<any>): Promise<CaseResult> => {
    if (!tiers.includes(c.tier)) {
      return filtered(c, `tier ${c.tier} not selected`);
    }
    if (!matches(c, options.filter)) {
      return filtered(c, `does not match the filter ${String(options.filter)}`);
    }
    return limit(c, async () => {
      if (stopped) {
        return filtered(c, "not run: an earlier case failed");
      }
      options.onStart?.(c);
      const result = await runCase(c, env);
      if (options.stopOnFirstFailure && (result.status === "failed" || result.status === "timed-out"))
        stopped = true;
      return result;
    });
  };
  const pending = (options.cases ?? allCases).map(one);
  const results: CaseResult[] = [];
  // In the cases' order, each as soon as it and those before it are done.
  for (const p of pending) {
    const result = await p;
    results.push(result);
    options.onResult?.(result);
  }
  return results;
}
