/**
 * The Tenure codec server (docs/encryption.md): lets the Temporal Web UI (in the operator's browser)
 * and the `temporal` CLI (`--codec-endpoint`) show encrypted payloads in clear text.
 *
 *   POST /decode, POST /encode   body and answer `{"payloads":[{"metadata":{k: base64}, "data": base64}]}`
 *   OPTIONS                      CORS preflight, answered only for the configured UI origin(s)
 *   GET /health                  `{"ok":true}` (no payloads, no auth)
 *
 * It decrypts for anyone who can call it, so: 127.0.0.1 by default, CORS only for the configured
 * origins, an optional bearer token, and a body size limit. Logs carry method, path, status,
 * payload count and time; never bodies, keys or the Authorization header.
 *
 * Run: `node --import tsx workers/codec-server.ts` with
 *   TENURE_ENCRYPTION_KEYS / _FILE, TENURE_ENCRYPTION_KEY_ID   the worker's keys (common/payload-codec.ts)
 *   TENURE_CODEC_HOST (127.0.0.1)  TENURE_CODEC_PORT (8888)
 *   TENURE_CODEC_ORIGINS   comma-separated exact UI origins (default: the origin of TEMPORAL_UI_URL,
 *                          else http://localhost:8233); `localhost` and `127.0.0.1` differ
 *   TENURE_CODEC_TOKEN / TENURE_CODEC_TOKEN_FILE   require `Authorization: Bearer <token>`
 *   TENURE_CODEC_MAX_BODY_BYTES (8 MiB)
 *   TENURE_CODEC_ALLOW_CREDENTIALS=true   answer `Access-Control-Allow-Credentials: true`, for the
 *                          UI's "include cross-origin credentials" (unverified against Temporal docs)
 *   TENURE_CODEC_STRICT_DECODE=true   fail the whole /decode request when a payload cannot be
 *                          decrypted (default: return that payload unchanged, still encrypted, so
 *                          the UI shows the rest)
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import { payloadCodecFromEnv, PayloadDecryptionError, PlaintextPayloadError } from '../common/payload-codec.js';

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** Exact browser origins allowed by CORS, e.g. `http://127.0.0.1:8233`. Empty: no CORS at all. */
  origins: string[];
  /** When set, every /encode and /decode needs `Authorization: Bearer <token>`. */
  token?: string;
  host?: string;
  /** 0 = a free port. */
  port?: number;
  maxBodyBytes?: number;
  allowCredentials?: boolean;
  strictDecode?: boolean;
  log?: (line: string) => void;
}

export interface RunningCodecServer {
  server: Server;
  host: string;
  port: number;
  /** `http://host:port`: the value for `--ui-codec-endpoint` / `--codec-endpoint`. */
  url: string;
  close(): Promise<void>;
}

export const DEFAULT_CODEC_PORT = 8888;
export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'not base64');
const requestSchema = z.object({
  payloads: z.array(
    z.object({
      metadata: z.record(z.string(), base64).nullish(),
      data: base64.nullish(),
    }),
  ),
});
type JsonPayload = { metadata: Record<string, string>; data: string };

function fromJson(p: z.infer<typeof requestSchema>['payloads'][number]): Payload {
  const metadata: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) metadata[k] = Buffer.from(v, 'base64');
  return { metadata, data: Buffer.from(p.data ?? '', 'base64') };
}

function toJson(p: Payload): JsonPayload {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) metadata[k] = Buffer.from(v ?? []).toString('base64');
  return { metadata, data: Buffer.from(p.data ?? []).toString('base64') };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

export function createCodecHandler(opts: CodecServerOptions) {
  const origins = new Set(opts.origins);
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const tokenHash = opts.token ? sha256(opts.token) : undefined;
  const log = opts.log ?? (() => undefined);
  const allowHeaders = ['X-Namespace', 'Content-Type', ...(tokenHash ? ['Authorization'] : [])].join(', ');

  function cors(req: IncomingMessage, res: ServerResponse): boolean {
    const origin = req.headers.origin;
    res.setHeader('Vary', 'Origin');
    if (!origin || !origins.has(origin)) return false;
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Allow-Methods', 'POST, GET, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', allowHeaders);
    res.setHeader('Access-Control-Max-Age', '600');
    if (opts.allowCredentials) res.setHeader('Access-Control-Allow-Credentials', 'true');
    return true;
  }

  function authorised(req: IncomingMessage): boolean {
    if (!tokenHash) return true;
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    return m !== null && timingSafeEqual(sha256(m[1]!.trim()), tokenHash);
  }

  async function readBody(req: IncomingMessage): Promise<Buffer> {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBody) throw new HttpError(413, `body larger than ${maxBody} bytes`);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBody) throw new HttpError(413, `body larger than ${maxBody} bytes`);
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }

  async function transform(
    op: 'encode' | 'decode',
    payloads: Payload[],
  ): Promise<{ out: Payload[]; failed: number; plaintext: number }> {
    if (op === 'encode') return { out: await opts.codec.encode(payloads), failed: 0, plaintext: 0 };
    if (opts.strictDecode) return { out: await opts.codec.decode(payloads), failed: 0, plaintext: 0 };
    let failed = 0;
    let plaintext = 0;
    const out: Payload[] = [];
    for (const p of payloads) {
      try {
        out.push(...(await opts.codec.decode([p])));
      } catch (err) {
        if (!(err instanceof PayloadDecryptionError)) throw err;
        if (err instanceof PlaintextPayloadError) plaintext += 1;
        else failed += 1;
        out.push(p);
      }
    }
    return { out, failed, plaintext };
  }

  function send(res: ServerResponse, status: number, body?: unknown): void {
    if (body === undefined) {
      res.writeHead(status).end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const path = (req.url ?? '/').split('?')[0]!;
    const op = path.endsWith('/decode') ? 'decode' : path.endsWith('/encode') ? 'encode' : undefined;
    let status = 500;
    let count = 0;
    let note = '';
    try {
      const allowedOrigin = cors(req, res);
      if (req.method === 'OPTIONS') {
        // Preflight: never authenticated (browsers send no credentials on it); only for our origins.
        status = allowedOrigin ? 204 : 403;
        return send(res, status);
      }
      if (req.headers.origin && !allowedOrigin) throw new HttpError(403, 'origin not allowed');
      if (req.method === 'GET' && path.endsWith('/health')) {
        status = 200;
        return send(res, status, { ok: true });
      }
      if (!op) throw new HttpError(404, 'not found: use POST /encode or POST /decode');
      if (req.method !== 'POST') {
        res.setHeader('Allow', 'POST, OPTIONS');
        throw new HttpError(405, 'method not allowed');
      }
      if (!authorised(req)) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="tenure-codec"');
        throw new HttpError(401, 'unauthorised');
      }
      const type = String(req.headers['content-type'] ?? '');
      if (type && !/^application\/json\b/i.test(type))
        throw new HttpError(415, 'Content-Type must be application/json');
      const raw = await readBody(req);
      let json: unknown;
      try {
        json = JSON.parse(raw.toString('utf8'));
      } catch {
        throw new HttpError(400, 'body is not JSON');
      }
      const parsed = requestSchema.safeParse(json);
      if (!parsed.success)
        throw new HttpError(400, 'body must be {"payloads":[{"metadata":{..base64},"data":base64}]}');
      count = parsed.data.payloads.length;
      const { out, failed, plaintext } = await transform(op, parsed.data.payloads.map(fromJson));
      if (failed > 0) note = ` undecryptable=${failed}`;
      // Unencrypted payloads are shown as they are, never trusted: counted so they stand out.
      if (plaintext > 0) note += ` unencrypted=${plaintext}`;
      status = 200;
      return send(res, status, { payloads: out.map(toJson) });
    } catch (err) {
      if (err instanceof HttpError) {
        status = err.status;
        return send(res, status, { error: err.message });
      }
      if (err instanceof PayloadDecryptionError) {
        status = 422;
        return send(res, status, { error: err.message });
      }
      status = 500;
      // Never echo unknown errors: they might carry data.
      return send(res, status, { error: 'internal error' });
    } finally {
      const ns = req.headers['x-namespace'];
      log(
        `[codec] ${req.method} ${path} ${status} payloads=${count}${note}${ns ? ` ns=${String(ns)}` : ''} ${Date.now() - started}ms`,
      );
    }
  };
}

export async function startCodecServer(opts: CodecServerOptions): Promise<RunningCodecServer> {
  const handler = createCodecHandler(opts);
  const server = createServer((req, res) => void handler(req, res));
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? DEFAULT_CODEC_PORT, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    server,
    host,
    port,
    url: `http://${urlHost}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Settings from the environment (see the header comment). Throws when no keys are configured. */
export function codecServerOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): CodecServerOptions {
  const codec = payloadCodecFromEnv(env);
  if (!codec) throw new Error('the codec server needs TENURE_ENCRYPTION_KEYS (or TENURE_ENCRYPTION_KEYS_FILE)');
  const originsEnv = env.TENURE_CODEC_ORIGINS?.trim();
  let origins: string[];
  if (originsEnv) {
    origins = originsEnv
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  } else if (env.TEMPORAL_UI_URL) {
    origins = [new URL(env.TEMPORAL_UI_URL).origin];
  } else {
    origins = ['http://localhost:8233'];
  }
  for (const o of origins) {
    if (o === '*' || new URL(o).origin !== o)
      throw new Error(`TENURE_CODEC_ORIGINS entry '${o}' must be an exact origin like http://127.0.0.1:8233`);
  }
  const token =
    env.TENURE_CODEC_TOKEN ||
    (env.TENURE_CODEC_TOKEN_FILE ? readFileSync(env.TENURE_CODEC_TOKEN_FILE, 'utf8').trim() : undefined) ||
    undefined;
  const port = Number(env.TENURE_CODEC_PORT ?? DEFAULT_CODEC_PORT);
  const maxBodyBytes = Number(env.TENURE_CODEC_MAX_BODY_BYTES ?? DEFAULT_MAX_BODY_BYTES);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('TENURE_CODEC_PORT is not a port');
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes <= 0)
    throw new Error('TENURE_CODEC_MAX_BODY_BYTES must be a positive integer');
  return {
    codec,
    origins,
    token,
    host: env.TENURE_CODEC_HOST || '127.0.0.1',
    port,
    maxBodyBytes,
    allowCredentials: env.TENURE_CODEC_ALLOW_CREDENTIALS === 'true',
    strictDecode: env.TENURE_CODEC_STRICT_DECODE === 'true',
    log: (line) => console.log(line),
  };
}

async function main(): Promise<void> {
  const opts = codecServerOptionsFromEnv();
  const running = await startCodecServer(opts);
  console.log(
    `[codec] listening on ${running.url}; CORS origins ${opts.origins.join(', ')}; ` +
      `auth ${opts.token ? 'bearer token' : 'none'}; keys ${(opts.codec as { keyIds?: string[] }).keyIds?.join(', ')}`,
  );
  const stop = () => void running.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(`[codec] ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
