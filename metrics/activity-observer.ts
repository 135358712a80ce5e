/**
 * One Temporal activity interceptor that times every activity and tells observers (metrics,
 * admin alerts) what ran, with what input and how it ended. Observers run after the activity and
 * can never fail it: their errors are logged and dropped.
 */
import type { ActivityInterceptorsFactory } from '@temporalio/worker';

export interface ActivityEvent {
  activityType: string;
  taskQueue: string;
  workflowId: string;
  runId: string;
  /** Same for every retry of one scheduled activity. */
  activityId: string;
  /** 1 on the first try. */
  attempt: number;
  args: unknown[];
  durationSeconds: number;
  /** Set when the activity returned. */
  result?: unknown;
  /** Set when the activity threw. */
  error?: unknown;
}

export type ActivityObserver = (event: ActivityEvent) => void | Promise<void>;

export function observeActivities(observers: readonly ActivityObserver[]): ActivityInterceptorsFactory {
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        const started = process.hrtime.bigint();
        const info = ctx.info;
        const event = (end: { result?: unknown; error?: unknown }): ActivityEvent => ({
          activityType: info.activityType,
          taskQueue: info.taskQueue,
          workflowId: info.workflowExecution?.workflowId ?? '',
          runId: info.workflowExecution?.runId ?? '',
          activityId: info.activityId,
          attempt: info.attempt,
          args: input.args,
          durationSeconds: Number(process.hrtime.bigint() - started) / 1e9,
          ...end,
        });
        try {
          const result = await next(input);
          notify(observers, event({ result }));
          return result;
        } catch (error) {
          notify(observers, event({ error }));
          throw error;
        }
      },
    },
  });
}

function notify(observers: readonly ActivityObserver[], event: ActivityEvent): void {
  for (const observe of observers) {
    try {
      const pending = observe(event);
      if (pending) pending.catch((err: unknown) => warn(event, err));
    } catch (err) {
      warn(event, err);
    }
  }
}

function warn(event: ActivityEvent, err: unknown): void {
  console.warn(
    `[observer] ${event.activityType} of ${event.workflowId}: ${err instanceof Error ? err.message : String(err)}`,
  );
}
