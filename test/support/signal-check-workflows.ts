// A workflow that runs the signal-payload checks inside the workflow sandbox (tests only).
import { checkPersonChanged, checkPersonRemoved } from '../../common/signal-payloads.js';

export async function checkSignalPayloads(
  forKey: string,
  changed: unknown[],
  removed: unknown[],
): Promise<{ changed: (string | true)[]; removed: (string | true)[] }> {
  const verdict = (r: { ok: true } | { ok: false; reason: string }) => (r.ok ? true : r.reason);
  return {
    changed: changed.map((p) => verdict(checkPersonChanged(p, forKey))),
    removed: removed.map((p) => verdict(checkPersonRemoved(p, forKey))),
  };
}
