/**
 * Every case of the suite, in the order they run: the adapter tier first (the SPI, case by case),
 * then the client tier. Within a tier, cheap and fundamental cases come first.
 * @module
 */
import type { Case } from "../case.js";
import { bodies } from "./adapter/bodies.js";
import { redeliveryIntact, senderBuffer } from "./adapter/buffers.js";
import { closeIdempotent, closeReleases, crashAttempts } from "./adapter/close.js";
import { competing } from "./adapter/competing.js";
import { connectAndNative } from "./adapter/connect.js";
import { sendDelay } from "./adapter/delay.js";
import { deleteQueue } from "./adapter/delete-queue.js";
import { ephemeralDeleted } from "./adapter/ephemeral.js";
import { featuresDeclared } from "./adapter/features.js";
import { leaseHeld } from "./adapter/lease.js";
import { maxSize } from "./adapter/max-size.js";
import { delayedNackSurvivesClose, nackDelay, nackRedelivers } from "./adapter/nack.js";
import { namesDistinct } from "./adapter/names.js";
import { ordering } from "./adapter/ordering.js";
import { prefetchBound } from "./adapter/prefetch.js";
import { priority } from "./adapter/priority.js";
import { roundTrip } from "./adapter/round-trip.js";
import { backlogKept, concurrentSends, sendConfirmed } from "./adapter/sending.js";
import { ackIsolated, settleOnce } from "./adapter/settle.js";
import { statsGroups, statsMove } from "./adapter/stats.js";
import { stopHalts, stopReleases } from "./adapter/stop.js";
import { fanout, groupKeptOffline, groupStartsNow } from "./adapter/topics.js";
import { unreachable } from "./adapter/unreachable.js";
import { clientClaimCheck, clientClaimCheckTopic } from "./client/claim-check.js";
import {
  clientCloseRace,
  clientDeadLetterNearLimit,
  clientGroupDeadLetters,
  clientIdempotencySlow,
  clientNothingAfterClose,
  clientReplyUndeliverable,
  clientRequestSameId,
  clientReservedHeaders,
  clientThrowsAnything,
} from "./client/defects.js";
import { clientDeleteGroup, clientDeleteQueue, clientDeleteTopic } from "./client/deleting.js";
import {
  clientCompeting,
  clientFanout,
  clientGroupOffline,
  clientGroupStartsNow,
} from "./client/delivery.js";
import { clientBrokerRestart, clientConnectionCut } from "./client/faults.js";
import { clientDelay, clientOrdering, clientPriority, clientUnsupported } from "./client/features.js";
import { clientIdempotency, clientIdempotencyRelease } from "./client/idempotency.js";
import { clientBadInput, clientMiddleware } from "./client/input.js";
import {
  clientBatchSplit,
  clientClosed,
  clientConcurrency,
  clientCrash,
  clientShutdown,
} from "./client/lifecycle.js";
import {
  clientBackoff,
  clientDeadLetter,
  clientDeadLetterNow,
  clientDeadLetterOriginal,
  clientNack,
  clientRetryLater,
  clientTimestampStable,
  clientUndecodable,
  clientValidation,
} from "./client/retries.js";
import { clientBodies, clientMaxSize, clientRoundTrip, clientSenderBuffer } from "./client/round-trip.js";
import { clientRequestErrors, clientRequestReply } from "./client/rpc.js";
import { clientSecrets, clientSecretsLive } from "./client/secrets.js";
import { clientStats } from "./client/stats.js";

/** The SPI tier. */
export const adapterCases: readonly Case<any>[] = [
  featuresDeclared,
  connectAndNative,
  roundTrip,
  bodies,
  senderBuffer,
  redeliveryIntact,
  backlogKept,
  sendConfirmed,
  concurrentSends,
  competing,
  prefetchBound,
  settleOnce,
  ackIsolated,
  nackRedelivers,
  nackDelay,
  delayedNackSurvivesClose,
  stopHalts,
  stopReleases,
  closeReleases,
  crashAttempts,
  closeIdempotent,
  leaseHeld,
  ephemeralDeleted,
  fanout,
  groupStartsNow,
  groupKeptOffline,
  sendDelay,
  priority,
  ordering,
  namesDistinct,
  deleteQueue,
  statsMove,
  statsGroups,
  maxSize,
  unreachable,
];

/** The client tier. */
export const clientCases: readonly Case<any>[] = [
  clientRoundTrip,
  clientBodies,
  clientSenderBuffer,
  clientBadInput,
  clientSecrets,
  clientSecretsLive,
  clientReservedHeaders,
  clientUnsupported,
  clientClosed,
  clientNack,
  clientDeadLetter,
  clientDeadLetterOriginal,
  clientDeadLetterNow,
  clientUndecodable,
  clientValidation,
  clientThrowsAnything,
  clientDeadLetterNearLimit,
  clientTimestampStable,
  clientBackoff,
  clientRetryLater,
  clientConcurrency,
  clientMiddleware,
  clientRequestReply,
  clientRequestErrors,
  clientRequestSameId,
  clientReplyUndeliverable,
  clientIdempotency,
  clientIdempotencyRelease,
  clientIdempotencySlow,
  clientCompeting,
  clientFanout,
  clientGroupOffline,
  clientGroupStartsNow,
  clientGroupDeadLetters,
  clientDeleteQueue,
  clientDeleteGroup,
  clientDeleteTopic,
  clientStats,
  clientOrdering,
  clientDelay,
  clientPriority,
  clientBatchSplit,
  clientShutdown,
  clientNothingAfterClose,
  clientCloseRace,
  clientCrash,
  clientMaxSize,
  clientClaimCheck,
  clientClaimCheckTopic,
  clientBrokerRestart,
  clientConnectionCut,
];

/** Both tiers, in running order. */
export const allCases: readonly Case<any>[] = [...adapterCases, ...clientCases];
