/**
 * Broker state for `client.stats`: the queue's `ApproximateNumberOfMessages` (visible) plus
 * `ApproximateNumberOfMessagesDelayed` (sent with a delay, not yet visible) as `depth`, and
 * `ApproximateNumberOfMessagesNotVisible` (received and neither deleted nor visible again; a nack
 * with a delay counts here until it is visible) as `inFlight`. SQS says these are approximate and
 * may lag by up to a minute on AWS; the emulators answer exactly.
 * @module
 */
import { GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { ConfigError, type SourceStats } from "@omnibus/core";
import { isQueueMissing, translate } from "./errors.js";

const ATTRIBUTES = [
  "ApproximateNumberOfMessages",
  "ApproximateNumberOfMessagesDelayed",
  "ApproximateNumberOfMessagesNotVisible",
] as const;

/** The counts of SQS queue `queue` (its URL from `url`); zeros when it does not exist. */
export async function queueStats(
  sqs: SQSClient,
  queue: string,
  url: () => Promise<string>,
): Promise<SourceStats> {
  let queueUrl: string;
  try {
    queueUrl = await url();
  } catch (error) {
    if (error instanceof ConfigError || isQueueMissing(error)) return { depth: 0, inFlight: 0 };
    throw error;
  }
  try {
    const out = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: [...ATTRIBUTES] }),
    );
    const count = (name: (typeof ATTRIBUTES)[number]) => Number(out.Attributes?.[name] ?? 0) || 0;
    return {
      depth: count("ApproximateNumberOfMessages") + count("ApproximateNumberOfMessagesDelayed"),
      inFlight: count("ApproximateNumberOfMessagesNotVisible"),
    };
  } catch (error) {
    if (isQueueMissing(error)) return { depth: 0, inFlight: 0 };
    throw translate(error, `cannot read the attributes of SQS queue ${queue}`);
  }
}
