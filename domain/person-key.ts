// The person key (zod-free, so the workflow sandbox can share it: workers/workflow-bundle.ts).

/** `raet:100234`: unique across sources; the vault's and workflow's key. */
export function personKey(p: { source: string; key: string }): string {
  return `${p.source}:${p.key}`;
}
