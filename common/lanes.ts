/**
 * Work lanes (docs/temporal.md "Lanes and pacing"). A poll that brings many changes at once (an
 * initial load, a reorganisation) is bulk work; one that brings a few is a person somebody is
 * waiting for. The server hands out tasks by priority key (1 first, 5 last, 3 when unset), so a
 * single change goes ahead of a queue of bulk work instead of waiting behind it.
 * Workflow-safe: no I/O.
 */
export type Lane = 'bulk' | 'interactive';

/** Priority keys of the task queues (Temporal's default range 1..5). */
export const LANE_PRIORITY = {
  /** Admin requests and polls with few changes. */
  interactive: 2,
  /** Polls with many changes: behind everything else, in order among themselves. */
  bulk: 4,
} as const satisfies Record<Lane, number>;

/** A poll with at least this many changes signals them in the bulk lane, paced. */
export const DEFAULT_BULK_FROM = 100;
