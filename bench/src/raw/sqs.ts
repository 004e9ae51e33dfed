import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { type Body, bodyBytes } from "../payload.js";
import type { Driver } from "../types.js";

/**
 * @aws-sdk/client-sqs as an expert writes it: `SendMessageBatch` of 10 (all batches of a window in
 * flight together), several pollers each looping `ReceiveMessage` (10, long poll) and
 * `DeleteMessageBatch`. No raw RPC: SQS has no natural request-reply (AWS's temporary-queue
 * client is a Java library).
 */
export class RawSqs implements Driver {
  readonly side = "raw";
  readonly rpcNote = "SQS has no natural request-reply; no raw figure";
  readonly #client: SQSClient;
  readonly #urls = new Map<string, string>();

  constructor(
    endpoint: string,
    private readonly pollers = 8,
  ) {
    this.#client = new SQSClient({
      endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "bench", secretAccessKey: "bench" },
    });
  }

  async connect(): Promise<void> {}

  async #url(queue: string): Promise<string> {
    let url = this.#urls.get(queue);
    if (!url) {
      const out = await this.#client.send(new CreateQueueCommand({ QueueName: `benchraw-${queue}` }));
      url = out.QueueUrl!;
      this.#urls.set(queue, url);
    }
    return url;
  }

  async prepare(queue: string): Promise<void> {
    await this.#url(queue);
  }

  async consume(queue: string, onBody: (body: Body) => void): Promise<() => Promise<void>> {
    const url = await this.#url(queue);
    let running = true;
    const poll = async () => {
      while (running) {
        const out = await this.#client.send(
          new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
        );
        const messages = out.Messages ?? [];
        if (messages.length === 0) continue;
        for (const m of messages) onBody(JSON.parse(m.Body!) as Body);
        await this.#client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: url,
            Entries: messages.map((m, k) => ({ Id: String(k), ReceiptHandle: m.ReceiptHandle! })),
          }),
        );
      }
    };
    const loops = Array.from({ length: this.pollers }, () => poll().catch(() => {}));
    return async () => {
      running = false;
      await Promise.all(loops);
    };
  }

  async sendWindow(queue: string, from: number, to: number, size: number): Promise<void> {
    await this.#batches(queue, from, to, (i) => bodyBytes(i, size).toString("utf8"));
  }

  async #batches(queue: string, from: number, to: number, text: (i: number) => string): Promise<void> {
    const url = await this.#url(queue);
    const batches: Promise<unknown>[] = [];
    for (let start = from; start < to; start += 10) {
      const entries = [];
      for (let i = start; i < Math.min(to, start + 10); i++) {
        entries.push({ Id: String(i), MessageBody: text(i) });
      }
      batches.push(
        this.#client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries })).then((out) => {
          if (out.Failed && out.Failed.length > 0)
            throw new Error(`SendMessageBatch: ${out.Failed[0]!.Message}`);
        }),
      );
    }
    await Promise.all(batches);
  }

  /** The messages due in a tick go in `SendMessageBatch` calls of 10 (SQS's natural unit). */
  async sendTick(queue: string, from: number, to: number, size: number, t: number): Promise<void> {
    await this.#batches(queue, from, to, (i) => bodyBytes(i, size, t).toString("utf8"));
  }

  async cleanup(queue: string): Promise<void> {
    const url = this.#urls.get(queue);
    this.#urls.delete(queue);
    if (url) await this.#client.send(new DeleteQueueCommand({ QueueUrl: url })).catch(() => {});
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }
}
