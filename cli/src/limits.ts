/** Bounds of the `sluice` CLI, each with its reason. */
import { RECORD_BATCH_BYTES_MAX } from "@sluice/protocol";

/** A produced line can never be larger than the largest batch a topic may accept (16 MiB). */
export const LINE_BYTES_MAX = RECORD_BATCH_BYTES_MAX;
/** 5 s to find a topic in metadata: there is no auto-creation, so longer means it does not exist. */
export const TOPIC_WAIT_MS = 5_000;
/** The default bootstrap: the broker's default port (9092, Kafka's) on loopback. */
export const BOOTSTRAP_DEFAULT = "127.0.0.1:9092";
/**
 * Admin calls from the CLI try a few times (~0.7 s of backoff) and then report, instead of the
 * SDK's default of retrying until the 30 s admin timeout: a person is waiting at the prompt.
 */
export const ADMIN_RETRY = { attemptsMax: 4 } as const;
