/**
 * Rewrites a recorded history (the JSON object form of test/fixtures/histories/) the way the SDK
 * itself writes one under load: a workflow task that recorded local-activity markers and then
 * more commands is cut after its last local-activity marker, and the commands after it land in a
 * new workflow task (scheduled, started, completed). Seen in CI on an employee workflow during a
 * rules apply; replaying such a history must give the same commands as the history it came from.
 */

type Json = Record<string, unknown>;

const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

function isEventIdField(key: string): boolean {
  return key.endsWith('EventId') || key === 'eventId';
}

/** Every `…EventId` field at any depth of `value`, mapped through `map` (ids not in it stay). */
function remapIds(value: unknown, map: Map<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => remapIds(v, map));
  if (value === null || typeof value !== 'object') return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value as Json)) {
    out[k] =
      isEventIdField(k) && (typeof v === 'string' || typeof v === 'number')
        ? (map.get(String(v)) ?? v)
        : remapIds(v, map);
  }
  return out;
}

function attributesOf(event: Json): Json | undefined {
  const key = Object.keys(event).find((k) => k.endsWith('EventAttributes'));
  return key ? (event[key] as Json) : undefined;
}

function isLocalActivityMarker(event: Json): boolean {
  return (event.markerRecordedEventAttributes as Json | undefined)?.markerName === LOCAL_ACTIVITY_MARKER;
}

/**
 * The history with every such workflow task cut in two. Returns the new history and how many cuts
 * were made (zero when no task has commands after a local-activity marker).
 */
export function splitAfterLocalActivityMarkers(recorded: Json): { history: Json; cuts: number } {
  const events = (JSON.parse(JSON.stringify(recorded)) as Json).events as Json[];
  const taskOf = (e: Json | undefined) =>
    e === undefined ? undefined : (attributesOf(e)?.workflowTaskCompletedEventId as string | undefined);
  // Per completed task: the position of its last local-activity marker.
  const lastMarker = new Map<string, number>();
  events.forEach((e, i) => {
    const task = taskOf(e);
    if (task !== undefined && isLocalActivityMarker(e)) lastMarker.set(task, i);
  });
  const out: { event: Json; inserted: boolean }[] = [];
  const newId = new Map<string, string>();
  let cuts = 0;
  let taskQueue: unknown;
  let identity: unknown;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    taskQueue = (e.workflowTaskScheduledEventAttributes as Json | undefined)?.taskQueue ?? taskQueue;
    identity = (e.workflowTaskStartedEventAttributes as Json | undefined)?.identity ?? identity;
    newId.set(String(e.eventId), String(out.length + 1));
    out.push({ event: e, inserted: false });
    const task = taskOf(e);
    if (task === undefined || lastMarker.get(task) !== i || taskOf(events[i + 1]) !== task) continue;
    // The task ends here; a new one carries the rest of its commands.
    cuts += 1;
    const scheduledId = String(out.length + 1);
    const startedId = String(out.length + 2);
    const completedId = String(out.length + 3);
    const at = e.eventTime;
    out.push({
      inserted: true,
      event: {
        eventId: scheduledId,
        eventTime: at,
        eventType: 'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED',
        workflowTaskScheduledEventAttributes: { taskQueue, startToCloseTimeout: { seconds: '10' }, attempt: 1 },
      },
    });
    out.push({
      inserted: true,
      event: {
        eventId: startedId,
        eventTime: at,
        eventType: 'EVENT_TYPE_WORKFLOW_TASK_STARTED',
        workflowTaskStartedEventAttributes: { scheduledEventId: scheduledId, identity, requestId: `split-${cuts}` },
      },
    });
    out.push({
      inserted: true,
      event: {
        eventId: completedId,
        eventTime: at,
        eventType: 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED',
        workflowTaskCompletedEventAttributes: { scheduledEventId: scheduledId, startedEventId: startedId, identity },
      },
    });
    for (let j = i + 1; j < events.length && taskOf(events[j]) === task; j++) {
      attributesOf(events[j]!)!.workflowTaskCompletedEventId = `new:${completedId}`;
    }
  }
  // Recorded events are renumbered by position and their references follow; the new task's ids
  // and the moved commands' reference to it (`new:`) are final already.
  const renumbered = out.map(({ event, inserted }, index) => {
    if (inserted) return event;
    const mapped = JSON.stringify(remapIds(event, newId)).replace(/"new:(\d+)"/g, '"$1"');
    return { ...(JSON.parse(mapped) as Json), eventId: String(index + 1) };
  });
  return { history: { ...recorded, events: renumbered }, cuts };
}
