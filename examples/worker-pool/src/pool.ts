import { type Client, createClient, silentLogger } from "@omnibus/core";
import { waitFor } from "@omnibus/core/testing";

/** Options of {@link runWorkerPool}. */
export interface PoolOptions {
  /** Broker URL. */
  url: string;
  /** Jobs in the burst. @default 200 */
  jobs?: number;
  /** Workers, each its own client (its own process, in production). @default 4 */
  workers?: number;
  /** Handlers at once per worker. @default 2 */
  concurrency?: number;
  /** Simulated work per job, in ms. @default 5 */
  workMs?: number;
  /** Progress lines. */
  log?: (line: string) => void;
  /** @default 60000 */
  timeoutMs?: number;
}

/** What the pool did. */
export interface PoolReport {
  jobs: number;
  handled: number;
  duplicates: number;
  perWorker: number[];
  elapsedMs: number;
}

/**
 * Load levelling: a producer sends a burst of jobs faster than one worker could handle them; a
 * pool of competing workers drains the queue, each job handled by exactly one of them.
 */
export async function runWorkerPool(options: PoolOptions): Promise<PoolReport> {
  const jobs = options.jobs ?? 200;
  const workerCount = options.workers ?? 4;
  const queue = `jobs.resize-${Date.now().toString(36)}`;
  const clients: Client[] = [];
  const seen = new Map<string, number>();
  const perWorker = new Array<number>(workerCount).fill(0);
  try {
    for (let w = 0; w < workerCount; w++) {
      const worker = createClient({ url: options.url, logger: silentLogger });
      clients.push(worker);
      await worker.consume(
        queue,
        async (job) => {
          await new Promise((resolve) => setTimeout(resolve, options.workMs ?? 5));
          seen.set(job.id, (seen.get(job.id) ?? 0) + 1);
          perWorker[w]!++;
        },
        // Load levelling wants prefetch = concurrency: a worker takes a job only when it has a free
        // slot, so a burst spreads over every worker instead of filling the first one's buffer.
        { concurrency: options.concurrency ?? 2, prefetch: options.concurrency ?? 2 },
      );
    }
    const producer = createClient({ url: options.url, logger: silentLogger });
    clients.push(producer);
    const started = Date.now();
    const ids = await producer.sendBatch(
      queue,
      Array.from({ length: jobs }, (_, i) => ({ body: { image: `img-${i}.png`, width: 320 } })),
    );
    options.log?.(`sent ${jobs} jobs in ${Date.now() - started} ms`);
    await waitFor(() => ids.every((id) => seen.has(id)), {
      timeoutMs: options.timeoutMs ?? 60_000,
      message: () => `handled ${seen.size} of ${jobs}`,
    });
    const elapsedMs = Date.now() - started;
    options.log?.(`handled ${seen.size} jobs in ${elapsedMs} ms; per worker: ${perWorker.join(", ")}`);
    return {
      jobs,
      handled: seen.size,
      duplicates: [...seen.values()].filter((n) => n > 1).length,
      perWorker,
      elapsedMs,
    };
  } finally {
    const producer = clients[workerCount];
    await Promise.allSettled(clients.slice(0, workerCount).map((c) => c.close()));
    // The queue was this run's alone: leave nothing of it on the broker.
    await producer?.deleteQueue(queue).catch(() => {});
    await producer?.close().catch(() => {});
  }
}
