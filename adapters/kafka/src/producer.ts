import type { Producer } from "kafkajs";
import type { ProducerSource } from "./sender.js";
import type { Targets } from "./targets.js";

/** One kafkajs producer with what the adapter keeps about it. */
export interface ProducerHandle {
  readonly producer: Producer;
  /** Its metadata targets (kafkajs #1622, see targets.ts); undefined if not found. */
  readonly targets: Targets | undefined;
}

/** The error of `acquire` after `close`. */
export class ProducerClosedError extends Error {
  override readonly name = "ProducerClosedError";
  constructor() {
    super("the producer was closed");
  }
}

/**
 * The adapter's producer, replaced by a new one (a new idempotent producer id) once its sequence
 * numbers can no longer be trusted (see {@link ProducerSource}). The replaced producer is
 * disconnected in the background; a producer that fails to connect is dropped too, so that the
 * next attempt starts afresh.
 */
export class ProducerSession implements ProducerSource {
  private current: ProducerHandle | undefined;
  private connecting: Promise<Producer> | undefined;
  private closed = false;
  /** Producers made so far (the first one included). */
  generation = 0;

  constructor(private readonly create: () => ProducerHandle) {}

  /** The current producer (made if there is none; connected by {@link acquire}). */
  get handle(): ProducerHandle {
    if (this.current === undefined) {
      this.current = this.create();
      this.generation++;
    }
    return this.current;
  }

  acquire(): Promise<Producer> {
    if (this.closed) return Promise.reject(new ProducerClosedError());
    if (this.connecting !== undefined) return this.connecting;
    const handle = this.handle;
    const connecting = handle.producer.connect().then(
      () => {
        if (this.closed) {
          void handle.producer.disconnect().catch(() => {});
          throw new ProducerClosedError();
        }
        return handle.producer;
      },
      (error: unknown) => {
        if (this.connecting === connecting) this.connecting = undefined;
        this.drop(handle);
        throw error;
      },
    );
    // Handed out from then on, connected or connecting; a failed connect drops the producer (see
    // above), so that the next call starts afresh.
    this.connecting = connecting;
    return connecting;
  }

  renew(producer: Producer): void {
    const handle = this.current;
    if (handle === undefined || handle.producer !== producer) return;
    this.drop(handle);
  }

  private drop(handle: ProducerHandle): void {
    if (this.current !== handle) return;
    this.current = undefined;
    this.connecting = undefined;
    void handle.producer.disconnect().catch(() => {});
  }

  async close(): Promise<void> {
    this.closed = true;
    const handle = this.current;
    this.current = undefined;
    this.connecting = undefined;
    await handle?.producer.disconnect().catch(() => {});
  }
}
