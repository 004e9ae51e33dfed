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
 * Merges concurrent sends into produce requests. One request is in flight at a time (kafkajs
 * serialises an idempotent producer's requests per broker anyway); whatever arrives meanwhile
 * goes into the next request, up to `maxRequestBytes`. So a lone send is written at once and a
 * burst is written in few large requests. Callers wait (FIFO, so sends keep their order) while
 * more than `maxBufferedBytes` are queued.
 */
export class SendQueue {
  private queue: Job[] = [];
  private queuedBytes = 0;
  private inFlight = false;
  private readonly waiting: Array<{ bytes: number; admit: () => void }> = [];
  /** Topics of the request in flight. */
  private readonly writing = new Set<string>();

  /**
   * @param failedTopics - the topics a request's error is about, when it names them (a deleted
   * topic): the jobs of the other topics in that request are sent again on their own.
   */
  constructor(
    private readonly producer: Producer,
    private readonly maxRequestBytes: number,
    private readonly maxBufferedBytes: number,
    private readonly toError: (error: unknown) => Error,
    private readonly failedTopics: (error: unknown) => readonly string[] | undefined = () => undefined,
  ) {}

  /** Whether the request in flight writes to `topic`. */
  producing(topic: string): boolean {
    return this.writing.has(topic);
  }

  /** Resolves when the broker acknowledged every record. */
  async send(outgoing: readonly Outgoing[]): Promise<void> {
    let total = 0;
    for (const o of outgoing) for (const s of o.sizes) total += s;
    if (this.waiting.length > 0 || !this.fits(total)) {
      // Admission reserves the bytes (see finish).
      await new Promise<void>((admit) => this.waiting.push({ bytes: total, admit }));
    } else {
      this.queuedBytes += total;
    }
    const done: Promise<void>[] = [];
    for (const { topic, records, sizes } of outgoing) {
      let start = 0;
      let bytes = 0;
      for (let i = 0; i < records.length; i++) {
        if (i > start && bytes + sizes[i]! > this.maxRequestBytes) {
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
    let bytes = 0;
    let count = 0;
    while (count < this.queue.length) {
      const job = this.queue[count]!;
      if (count > 0 && bytes + job.bytes > this.maxRequestBytes) break;
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
    this.producer.sendBatch({ topicMessages, acks: -1 }).then(
      () => this.finish(jobs, bytes, undefined),
      (error: unknown) => this.finish(jobs, bytes, error),
    );
  }

  private finish(jobs: Job[], bytes: number, cause: unknown): void {
    this.inFlight = false;
    this.writing.clear();
    const error = cause === undefined ? undefined : this.toError(cause);
    const failed = cause === undefined ? undefined : this.failedTopics(cause);
    if (failed !== undefined && jobs.some((j) => !failed.includes(j.topic))) {
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
    return this.queuedBytes === 0 || this.queuedBytes + bytes <= this.maxBufferedBytes;
  }
}
