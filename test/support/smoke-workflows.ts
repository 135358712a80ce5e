// Minimal workflows for the infrastructure smoke tests only (never registered by the product worker).
import { condition, defineQuery, defineSignal, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { defineSearchAttributeKey } from '@temporalio/common';

export const EmployeeIdKey = defineSearchAttributeKey('EmployeeId', 'KEYWORD');
export const LifecycleStateKey = defineSearchAttributeKey('LifecycleState', 'KEYWORD');

export const wakeSignal = defineSignal<[string]>('wake');
export const seenQuery = defineQuery<string[]>('seen');

export async function waitForWake(employeeId: string): Promise<string[]> {
  const seen: string[] = [];
  setHandler(wakeSignal, (v) => void seen.push(v));
  setHandler(seenQuery, () => seen);
  upsertSearchAttributes([
    { key: EmployeeIdKey, value: employeeId },
    { key: LifecycleStateKey, value: 'pending' },
  ]);
  await condition(() => seen.includes('done'));
  upsertSearchAttributes([{ key: LifecycleStateKey, value: 'active' }]);
  return seen;
}

export { checkConnectivity } from '../../workflows/connectivity.js';
