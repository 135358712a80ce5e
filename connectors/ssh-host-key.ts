import { readFileSync } from 'node:fs';

/** The host key as ssh sends it: the base64 blob of an OpenSSH `.pub` line, decoded (for pinning). */
export function pinnedHostKey(pubFile: string): Buffer {
  const blob = readFileSync(pubFile, 'utf8').trim().split(/\s+/)[1];
  if (!blob) throw new Error(`no host key in ${pubFile}`);
  return Buffer.from(blob, 'base64');
}
