import type { Message, Producer, TopicMessages } from "kafkajs";

/** A slice of one `send` call, written in one produce request. */
interface Job {
  readonly topic: string;
  readonly records: Message[];
  readonly bytes: number;
  readonly done: (error?: unknown) => void;
}

/** Records of one send call for one topic, with their estimated sizes. */
export interface Outgoing {
  readonly topic: string;
  readonly records: Message[];
  readonly sizes: number[];
}

/**
 * Where the {@link SendQueue} gets its producer. An idempotent kafkajs producer numbers the
 * records of every partition (producer id + sequence) and the broker drops a batch whose numbers
 * it has seen, so a request that is sent again after a lost response is not written twice. But
 * kafkajs takes the numbers of a failed request back, whether or not the broker wrote it: after a
 * request failed for good, the next one reuses them, and the broker either refuses it
 * (`OUT_OF_ORDER_SEQUENCE_NUMBER`, for every later request too) or, when it has as many records
 * per partition as the failed one, acknowledges it as a duplicate of that one **without writing
 * it**. So once a request failed, the producer is replaced (a new producer id) before the next.
 */
export interface ProducerSource {
  /** A connected producer. */
  acquire(): Promise<Producer>;
  /** This producer's sequence numbers can no longer be trusted: the next `acquire` makes a new one. */
  renew(producer: Producer): void;
}

/** What to do after a produce request failed. */
export type FailureAction =
  /** Send the same request again with the same producer (same sequence numbers: never twice). */
  | "retry"
  /** The broker refused the producer's sequence numbers: a new producer, then send again. */
  | "renew"
  /** The records cannot be written (too large, no such topic, not allowed): fail the sends. */
  | "fail";

/** Options of {@link SendQueue}. */
export interface SendQueueOptions {
  readonly maxRequestBytes: number;
  readonly maxBufferedBytes: number;
  /** How long a request is sent again after failures that may pass (connection lost, no leader). */
  readonly deliveryTimeoutMs: number;
  /** Maps a final failure to the error the senders get. */
  readonly toError: (error: unknown) => Error;
  /** What a failure means (see {@link FailureAction}). */
  readonly classify: (error: unknown) => FailureAction;
  /**
   * The topics a request's error is about, when it names them (a deleted topic): the jobs of the
   * other topics in that request are sent again on their own.
   */
  readonly failedTopics?: (error: unknown) => readonly string[] | undefined;
  /** Pause before sending a request again: doubles from this… @default 100 */
  readonly minBackoffMs?: number;
  /** …up to this. @default 1000 */
  readonly maxBackoffMs?: number;
}

/** The error of sends still queued when the queue was closed. */
export class SendQueueClosedError extends Error {
  override readonly name = "SendQueueClosedError";
  constructor() {
    super("the adapter was closed before the records were written");
  }
}

/**
 * Merges concurrent sends into produce requests. One request is in flight at a time (kafkajs
 * serialises an idempotent producer's requests per broker anyway); whatever arrives meanwhile
 * goes into the next request, up to `maxRequestBytes`. So a lone send is written at once and a
 * burst is written in few large requests. Callers wait (FIFO, so sends keep their order) while
 * more than `maxBufferedBytes` are queued.
 *
 * A request that fails for a reason that may pass (connection lost or refused, no leader, a
 * timeout) is sent again as it was, with the same producer, until `deliveryTimeoutMs`: the broker
 * recognises its sequence numbers if it wrote it already. Once a request failed for good, the
 * producer is renewed before the next one (see {@link ProducerSource}).
 */
export class SendQueue {
  private queue: Job[] = [];
  private queuedBytes = 0;
  private inFlight = false;
  private readonly waiting: Array<{ bytes: number; admit: (error?: unknown) => void }> = [];
  /** Topics of the request in flight. */
  private readonly writing = new Set<string>();
  private closed = false;
  private wake: (() => void) | undefined;
  private readonly failedTopics: (error: unknown) => readonly string[] | undefined;

  constructor(
    private readonly source: ProducerSource,
    private readonly options: SendQueueOptions,
  ) {
    this.failedTopics = options.failedTopics ?? (() => undefined);
  }

  /** Whether the request in flight writes to `topic`. */
  producing(topic: string): boolean {
    return this.writing.has(topic);
  }

  /** Resolves when the broker acknowledged every record. */
  async send(outgoing: readonly Outgoing[]): Promise<void> {
    if (this.closed) throw this.options.toError(new SendQueueClosedError());
    let total = 0;
    for (const o of outgoing) for (const s of o.sizes) total += s;
    if (this.waiting.length > 0 || !this.fits(total)) {
      // Admission reserves the bytes (see finish).
      await new Promise<void>((admit, reject) =>
        this.waiting.push({
          bytes: total,
          admit: (error) => (error === undefined ? admit() : reject(error)),
        }),
      );
    } else {
      this.queuedBytes += total;
    }
    const max = this.options.maxRequestBytes;
    const done: Promise<void>[] = [];
    for (const { topic, records, sizes } of outgoing) {
      let start = 0;
      let bytes = 0;
      for (let i = 0; i < records.length; i++) {
        if (i > start && bytes + sizes[i]! > max) {
          done.push(this.enqueue(topic, records.slice(start, i), bytes));
          start = i;
          bytes = 0;
        }
        bytes += sizes[i]!;
      }
      if (records.length > start)
        done.push(this.enqueue(topic, start === 0 ? records : records.slice(start), bytes));
    }
    this.flush();
    await Promise.all(done);
  }

  /**
   * Stop: the request in flight is not sent again (it fails once its current attempt ends), queued
   * and waiting sends fail at once.
   */
  close(): void {
    this.closed = true;
    this.wake?.();
    const error = this.options.toError(new SendQueueClosedError());
    for (const w of this.waiting.splice(0)) w.admit(error);
    this.failQueued();
  }

  private failQueued(): void {
    const error = this.options.toError(new SendQueueClosedError());
    for (const job of this.queue.splice(0)) {
      this.queuedBytes -= job.bytes;
      job.done(error);
    }
  }

  private enqueue(topic: string, records: Message[], bytes: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({
        topic,
        records,
        bytes,
        done: (error) => (error === undefined ? resolve() : reject(error)),
      });
    });
  }

  private flush(): void {
    if (this.inFlight || this.queue.length === 0) return;
    if (this.closed) {
      this.failQueued();
      return;
    }
    let bytes = 0;
    let count = 0;
    while (count < this.queue.length) {
      const job = this.queue[count]!;
      if (count > 0 && bytes + job.bytes > this.options.maxRequestBytes) break;
      bytes += job.bytes;
      count++;
    }
    const jobs = this.queue.splice(0, count);
    const byTopic = new Map<string, Message[]>();
    for (const job of jobs) {
      const list = byTopic.get(job.topic);
      if (list === undefined) byTopic.set(job.topic, job.records.slice());
      else for (const r of job.records) list.push(r);
    }
    const topicMessages: TopicMessages[] = [];
    for (const [topic, messages] of byTopic) topicMessages.push({ topic, messages });
    this.inFlight = true;
    for (const topic of byTopic.keys()) this.writing.add(topic);
    void this.write(topicMessages).then((cause) => this.finish(jobs, bytes, cause));
  }

  /** Write one request; resolves with the final failure, or undefined once it was written. */
  private async write(topicMessages: TopicMessages[]): Promise<unknown> {
    const deadline = Date.now() + this.options.deliveryTimeoutMs;
    let backoff = this.options.minBackoffMs ?? 100;
    const maxBackoff = this.options.maxBackoffMs ?? 1000;
    for (;;) {
      let producer: Producer | undefined;
      let action: FailureAction;
      let cause: unknown;
      try {
        producer = await this.source.acquire();
        await producer.sendBatch({ topicMessages, acks: -1 });
        return undefined;
      } catch (error) {
        cause = error;
        // No producer: it could not connect, nothing was sent.
        action = producer === undefined ? "retry" : this.options.classify(error);
      }
      const giveUp = action === "fail" || this.closed || Date.now() + backoff > deadline;
      // Whatever was written of a request that is not sent again as it was makes the producer's
      // sequence numbers unreliable (see ProducerSource).
      if (producer !== undefined && (giveUp || action === "renew")) this.source.renew(producer);
      if (giveUp) return this.closed && action !== "fail" ? new SendQueueClosedError() : cause;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, backoff);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
      backoff = Math.min(backoff * 2, maxBackoff);
    }
  }

  private finish(jobs: Job[], bytes: number, cause: unknown): void {
    this.inFlight = false;
    this.writing.clear();
    const error = cause === undefined ? undefined : this.options.toError(cause);
    const failed = cause === undefined ? undefined : this.failedTopics(cause);
    if (failed !== undefined && !this.closed && jobs.some((j) => !failed.includes(j.topic))) {
      // A topic of a merged request is gone: the jobs of the others are sent again (the broker
      // may have written some of them already: at least once, never lost).
      const again = jobs.filter((j) => !failed.includes(j.topic));
      for (const job of jobs) if (failed.includes(job.topic)) job.done(error);
      for (const job of again) bytes -= job.bytes;
      this.queue.unshift(...again);
    } else {
      for (const job of jobs) job.done(error);
    }
    this.queuedBytes -= bytes;
    while (this.waiting.length > 0 && this.fits(this.waiting[0]!.bytes)) {
      const next = this.waiting.shift()!;
      this.queuedBytes += next.bytes;
      next.admit();
    }
    this.flush();
  }

  /** Whether `bytes` more may be queued now (a send larger than the buffer goes alone). */
  private fits(bytes: number): boolean {
    return this.queuedBytes === 0 || this.queuedBytes + bytes <= this.options.maxBufferedBytes;
  }
}
