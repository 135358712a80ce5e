/**
 * A stand-in for the employee workflow in poller tests: registered under the real type name
 * (`employeeLifecycle`), it records every personChanged / personRemoved signal it receives and
 * answers the `received` query. Workflow code: imports only workflow-safe modules.
 */
import { condition, defineQuery, defineSignal, setHandler } from '@temporalio/workflow';
import { personChangedSignal, personRemovedSignal, type EmployeeWorkflowInput } from '../../common/messages.js';

export type ReceivedSignal =
  | { kind: 'changed'; personKey: string; contentHash: string; cause: string }
  | { kind: 'removed'; personKey: string; cause: string };

export interface Recording {
  /** The start input (the first run's). */
  personKey: string;
  received: ReceivedSignal[];
}

export const recordingQuery = defineQuery<Recording>('received');
/** Ends the stand-in (tests clean up with it). */
export const stopRecordingSignal = defineSignal('stopRecording');

export async function employeeLifecycle(input: EmployeeWorkflowInput): Promise<Recording> {
  const received: ReceivedSignal[] = [];
  let stop = false;
  setHandler(personChangedSignal, (s) => {
    received.push({
      kind: 'changed',
      personKey: `${s.person.source}:${s.person.key}`,
      contentHash: s.contentHash,
      cause: s.cause,
    });
  });
  setHandler(personRemovedSignal, (s) => {
    received.push({ kind: 'removed', personKey: s.personKey, cause: s.cause });
  });
  setHandler(stopRecordingSignal, () => {
    stop = true;
  });
  setHandler(recordingQuery, () => ({ personKey: input.personKey, received }));
  // Ends by itself after an idle hour, should a test not clean up.
  await condition(() => stop, '1 hour');
  return { personKey: input.personKey, received };
}
