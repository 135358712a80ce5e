/**
 * A real SMTP server for tests: listens on 127.0.0.1 on a free port, needs no authentication,
 * accepts every message (unless told to refuse a recipient) and keeps each one parsed.
 *
 *   const sink = new SmtpSink();
 *   await sink.start();
 *   ... send to sink.host:sink.port (env: sink.env()) ...
 *   const m = await sink.waitFor((m) => m.to.includes('boss@example.org'));
 *   await sink.stop();
 *
 * Parsing is deliberately small but complete for what mailers produce: header unfolding,
 * RFC 2047 encoded words (Q and B), multipart (nested), 7bit/8bit/quoted-printable/base64, charsets.
 */
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';

export interface SinkMessage {
  /** SMTP envelope: MAIL FROM and every accepted RCPT TO, lower-case. */
  envelope: { from: string; to: string[] };
  /** Header values by lower-case name, decoded (RFC 2047), in order of appearance. */
  headers: Record<string, string[]>;
  /** The first value of a header (case-insensitive), decoded. */
  header(name: string): string | undefined;
  from: string;
  /** Addresses only (lower-case) from the To and Cc headers. */
  to: string[];
  subject: string;
  /** The Message-ID header as sent, angle brackets included. */
  messageId: string;
  /** The first text/plain and text/html bodies, decoded to strings ('' when absent). */
  text: string;
  html: string;
  /** The message exactly as received (after SMTP dot-unstuffing). */
  raw: string;
  receivedAt: Date;
}

export interface SmtpSinkOptions {
  /** Offer STARTTLS with smtp-server's built-in self-signed certificate (clients need TLS_INSECURE). */
  starttls?: boolean;
}

interface Refusal {
  code: number;
  message: string;
}

export class SmtpSink {
  readonly messages: SinkMessage[] = [];
  readonly host = '127.0.0.1';
  #port = 0;
  #server: SMTPServer;
  #events = new EventEmitter();
  #refusals = new Map<string, Refusal>();
  #started = false;

  constructor(options: SmtpSinkOptions = {}) {
    this.#events.setMaxListeners(0);
    this.#server = new SMTPServer({
      logger: false,
      authOptional: true,
      disabledCommands: options.starttls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
      hideSTARTTLS: !options.starttls,
      banner: 'tenure test sink',
      size: 25 * 1024 * 1024,
      closeTimeout: 500,
      onRcptTo: (address, _session, callback) => this.#onRcptTo(address, callback),
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('error', (err) => callback(err));
        stream.on('end', () => {
          try {
            this.#accept(Buffer.concat(chunks), session);
            callback(null);
          } catch (err) {
            callback(err as Error);
          }
        });
      },
    });
    // Client disconnects mid-session are normal in tests; keep them from crashing the process.
    this.#server.on('error', () => undefined);
  }

  get port(): number {
    if (!this.#started) throw new Error('SmtpSink not started');
    return this.#port;
  }

  /** SMTP_* variables pointing at this sink (no auth, no TLS unless started with `starttls`). */
  env(from = 'Tenure <tenure@example.test>'): Record<string, string> {
    return {
      SMTP_HOST: this.host,
      SMTP_PORT: String(this.port),
      SMTP_SECURE: 'false',
      SMTP_FROM: from,
      SMTP_TLS_INSECURE: 'true',
      // The sink's certificate is self-signed: accepting it is allowed under the test-only switch.
      TENURE_ALLOW_INSECURE_TRANSPORT: '1',
    };
  }

  async start(port = 0): Promise<this> {
    if (this.#started) return this;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.#server.server.once('error', onError);
      this.#server.listen(port, this.host, () => {
        this.#server.server.off('error', onError);
        resolve();
      });
    });
    this.#port = (this.#server.server.address() as AddressInfo).port;
    this.#started = true;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Answer RCPT TO for `address` with `code` (5xx permanent, 4xx temporary). */
  refuseRecipient(address: string, code = 550, message?: string): void {
    if (code < 400 || code > 599) throw new Error('refusal code must be 4xx or 5xx');
    this.#refusals.set(address.toLowerCase(), {
      code,
      message: message ?? (code >= 500 ? '5.1.1 Mailbox unavailable' : '4.2.1 Mailbox temporarily unavailable'),
    });
  }

  clearRefusals(): void {
    this.#refusals.clear();
  }

  /** Forget received messages. */
  clear(): void {
    this.messages.length = 0;
  }

  /** Resolves with the first message (already received or arriving) that matches. */
  waitFor(predicate: (m: SinkMessage) => boolean = () => true, timeoutMs = 10_000): Promise<SinkMessage> {
    const found = this.messages.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const onMessage = (m: SinkMessage) => {
        if (!predicate(m)) return;
        clearTimeout(timer);
        this.#events.off('message', onMessage);
        resolve(m);
      };
      const timer = setTimeout(() => {
        this.#events.off('message', onMessage);
        const seen = this.messages.map((m) => `  ${m.to.join(',')}: ${m.subject}`).join('\n') || '  (none)';
        reject(new Error(`SmtpSink: no matching message within ${timeoutMs} ms; received:\n${seen}`));
      }, timeoutMs);
      this.#events.on('message', onMessage);
    });
  }

  #onRcptTo(address: SMTPServerAddress, callback: (err?: Error | null) => void): void {
    const refusal = this.#refusals.get(address.address.toLowerCase());
    if (!refusal) return callback();
    const err = new Error(refusal.message) as Error & { responseCode: number };
    err.responseCode = refusal.code;
    callback(err);
  }

  #accept(rawBytes: Buffer, session: SMTPServerSession): void {
    const parsed = parseMessage(rawBytes);
    const env = session.envelope;
    const message: SinkMessage = {
      ...parsed,
      envelope: {
        from: env.mailFrom ? env.mailFrom.address.toLowerCase() : '',
        to: env.rcptTo.map((r) => r.address.toLowerCase()),
      },
      receivedAt: new Date(),
    };
    this.messages.push(message);
    this.#events.emit('message', message);
  }
}

// ------------------------------------------------------------------ parsing

type Parsed = Omit<SinkMessage, 'envelope' | 'receivedAt'>;

export function parseMessage(rawBytes: Buffer): Parsed {
  const entity = parseEntity(rawBytes);
  const headers: Record<string, string[]> = {};
  for (const [name, value] of entity.headers) (headers[name] ??= []).push(decodeWords(value));
  const header = (name: string) => headers[name.toLowerCase()]?.[0];
  const bodies = { text: undefined as string | undefined, html: undefined as string | undefined };
  collectBodies(entity, bodies);
  const addresses = [...(headers.to ?? []), ...(headers.cc ?? [])].flatMap(extractAddresses);
  return {
    headers,
    header,
    from: header('from') ?? '',
    to: addresses,
    subject: header('subject') ?? '',
    messageId: (entity.headers.find(([n]) => n === 'message-id')?.[1] ?? '').trim(),
    text: bodies.text ?? '',
    html: bodies.html ?? '',
    raw: rawBytes.toString('utf8'),
  };
}

interface Entity {
  headers: Array<[string, string]>;
  contentType: string;
  params: Record<string, string>;
  body: Buffer;
  parts: Entity[];
}

function parseEntity(bytes: Buffer): Entity {
  // Header block ends at the first empty line (CRLF CRLF, or LF LF from lenient producers).
  let split = bytes.indexOf('\r\n\r\n');
  let sepLen = 4;
  const lf = bytes.indexOf('\n\n');
  if (split < 0 || (lf >= 0 && lf < split)) {
    split = lf;
    sepLen = 2;
  }
  const headerText = split < 0 ? bytes.toString('latin1') : bytes.subarray(0, split).toString('latin1');
  const body = split < 0 ? Buffer.alloc(0) : bytes.subarray(split + sepLen);
  // Headers are read as latin1 to keep raw bytes; re-read as UTF-8 (RFC 6532) afterwards.
  const headers: Array<[string, string]> = [];
  for (const line of headerText.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && headers.length > 0) {
      headers[headers.length - 1]![1] += ' ' + line.trim();
    } else {
      const colon = line.indexOf(':');
      if (colon > 0) headers.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
    }
  }
  for (const h of headers) h[1] = Buffer.from(h[1], 'latin1').toString('utf8');

  const ct = headers.find(([n]) => n === 'content-type')?.[1] ?? 'text/plain; charset=us-ascii';
  const { value: contentType, params } = parseParams(ct);
  const cte = (headers.find(([n]) => n === 'content-transfer-encoding')?.[1] ?? '7bit').toLowerCase();

  const entity: Entity = { headers, contentType, params, body, parts: [] };
  if (contentType.startsWith('multipart/') && params.boundary) {
    entity.parts = splitMultipart(body, params.boundary).map(parseEntity);
  } else {
    entity.body = decodeTransfer(body, cte);
  }
  return entity;
}

function parseParams(headerValue: string): { value: string; params: Record<string, string> } {
  const [first, ...rest] = headerValue.split(';');
  const params: Record<string, string> = {};
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    const key = p.slice(0, eq).trim().toLowerCase();
    let value = p.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1).replace(/\\(.)/g, '$1');
    params[key] = value;
  }
  return { value: (first ?? '').trim().toLowerCase(), params };
}

function splitMultipart(body: Buffer, boundary: string): Buffer[] {
  const text = body.toString('latin1');
  const delimiter = `--${boundary}`;
  const parts: Buffer[] = [];
  const lines = text.split(/\r?\n/);
  let current: string[] | undefined;
  for (const line of lines) {
    const trimmed = line.trimEnd();
    if (trimmed === delimiter || trimmed === `${delimiter}--`) {
      if (current) parts.push(Buffer.from(current.join('\r\n'), 'latin1'));
      current = trimmed === delimiter ? [] : undefined;
      if (trimmed !== delimiter) break;
      continue;
    }
    current?.push(line);
  }
  return parts;
}

function decodeTransfer(body: Buffer, cte: string): Buffer {
  if (cte === 'base64') return Buffer.from(body.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  if (cte === 'quoted-printable') return decodeQuotedPrintable(body.toString('latin1'));
  return body;
}

export function decodeQuotedPrintable(input: string): Buffer {
  const unfolded = input.replace(/=[ \t]*\r?\n/g, ''); // soft line breaks
  const bytes: number[] = [];
  for (let i = 0; i < unfolded.length; i++) {
    const c = unfolded[i]!;
    if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(unfolded.slice(i + 1, i + 3))) {
      bytes.push(parseInt(unfolded.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(unfolded.charCodeAt(i) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

function decodeCharset(bytes: Buffer, charset: string | undefined): string {
  const label = (charset ?? 'utf-8').toLowerCase();
  if (label === 'us-ascii' || label === 'ascii') return bytes.toString('utf8');
  try {
    return new TextDecoder(label).decode(bytes);
  } catch {
    return bytes.toString('utf8');
  }
}

/** RFC 2047: `=?UTF-8?Q?...?=` and `=?UTF-8?B?...?=`, adjacent encoded words joined. */
export function decodeWords(value: string): string {
  return value
    .replace(/(=\?[^?]+\?[QqBb]\?[^?]*\?=)\s+(?==\?[^?]+\?[QqBb]\?[^?]*\?=)/g, '$1')
    .replace(/=\?([^?*]+)(?:\*[^?]*)?\?([QqBb])\?([^?]*)\?=/g, (_all, charset: string, enc: string, text: string) => {
      const bytes =
        enc.toUpperCase() === 'B' ? Buffer.from(text, 'base64') : decodeQuotedPrintable(text.replace(/_/g, ' '));
      return decodeCharset(bytes, charset);
    });
}

function collectBodies(e: Entity, into: { text?: string; html?: string }): void {
  if (e.parts.length > 0) {
    for (const p of e.parts) collectBodies(p, into);
    return;
  }
  const disposition = e.headers.find(([n]) => n === 'content-disposition')?.[1] ?? '';
  if (disposition.toLowerCase().startsWith('attachment')) return;
  if (e.contentType === 'text/plain' && into.text === undefined) into.text = decodeCharset(e.body, e.params.charset);
  if (e.contentType === 'text/html' && into.html === undefined) into.html = decodeCharset(e.body, e.params.charset);
}

function extractAddresses(headerValue: string): string[] {
  // Split on commas outside quotes and angle brackets, then take `<addr>` or the bare address.
  const items: string[] = [];
  let current = '';
  let quoted = false;
  let angle = false;
  for (const c of headerValue) {
    if (c === '"') quoted = !quoted;
    else if (c === '<' && !quoted) angle = true;
    else if (c === '>' && !quoted) angle = false;
    if (c === ',' && !quoted && !angle) {
      items.push(current);
      current = '';
    } else current += c;
  }
  items.push(current);
  return items
    .map((item) => {
      const bracketed = /<([^<>\s]+@[^<>\s]+)>/.exec(item);
      if (bracketed) return bracketed[1]!;
      const bare = /([^\s<>"]+@[^\s<>"]+)/.exec(item);
      return bare?.[1];
    })
    .filter((a): a is string => Boolean(a))
    .map((a) => a.toLowerCase());
}
