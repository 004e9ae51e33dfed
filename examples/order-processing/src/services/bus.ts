import { type Client, createClient, type Logger, type Middleware, silentLogger } from "@omnibus/core";
import { type ShopContract, shopContract } from "../contract.js";

/** What every service needs: where the broker is. Nothing else differs between brokers. */
export interface ServiceOptions {
  /** Broker URL: memory://, amqp://, kafka://, sqs://, nats://, redis://. */
  url: string;
  /** Where services print what they do. */
  log?: (service: string, line: string) => void;
  /** Omnibus's own log. @default silent */
  logger?: Logger;
  use?: Middleware[];
}

/** One client per service, as if each ran in its own process. */
export function connect(options: ServiceOptions): Client<ShopContract> {
  return createClient({
    url: options.url,
    contract: shopContract,
    logger: options.logger ?? silentLogger,
    use: options.use ?? [],
    requestTimeoutMs: 15_000,
  });
}

/** A running service. */
export interface Service<Stats> extends AsyncDisposable {
  readonly name: string;
  readonly stats: Stats;
  close(): Promise<void>;
}

export function service<Stats>(name: string, bus: Client<ShopContract>, stats: Stats): Service<Stats> {
  return {
    name,
    stats,
    close: () => bus.close(),
    [Symbol.asyncDispose]: () => bus.close(),
  };
}
