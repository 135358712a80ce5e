/**
 * AES-256-GCM payload encryption for Temporal (docs/encryption.md): personal data in workflow inputs,
 * results, signals, queries, memo and activity arguments is stored in Temporal's history only as
 * ciphertext. Runs outside the workflow sandbox (client, worker, codec server).
 *
 * Wire format, the same design as Temporal's samples-typescript `encryption/`:
 *   the whole input Payload is serialised as a protobuf `temporal.api.common.v1.Payload`
 *   (metadata = 1, data = 2), encrypted with AES-256-GCM under a 12-byte random IV, and stored as
 *   data = IV ‖ ciphertext ‖ 16-byte tag, with metadata
 *   `encoding: binary/encrypted` and `encryption-key-id: <key id>`.
 * Decoding looks the key up by its id, so old keys stay usable after rotation. A payload that is
 * not encrypted is refused (someone wrote to the namespace without the key, e.g. a signal sent
 * from a tool without the codec), unless `acceptPlaintext` is set for reading histories written
 * before encryption was switched on.
 *
 * Keys come from the environment (see `payloadCodecFromEnv`). Key material never appears in an
 * error message or a log line; key ids do (they are not secret).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Payload, PayloadCodec } from '@temporalio/common';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const METADATA_ENCODING_KEY = 'encoding';
export const METADATA_KEY_ID_KEY = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** Thrown when a payload cannot be decrypted; names the key id, never key material or plaintext. */
export class PayloadDecryptionError extends Error {
  constructor(
    message: string,
    readonly keyId: string | undefined,
  ) {
    super(message);
    this.name = 'PayloadDecryptionError';
  }
}

export interface AesGcmCodecOptions {
  /** Every key that may decrypt, by id (the encrypting key included). 32 bytes each. */
  keys: ReadonlyMap<string, Uint8Array> | Record<string, Uint8Array>;
  /** The key id new payloads are encrypted with. */
  encryptKeyId: string;
  /** Decode passes unencrypted payloads through instead of refusing them (migration only). */
  acceptPlaintext?: boolean;
}

/** Thrown when encryption is on and a payload arrives unencrypted. */
export class PlaintextPayloadError extends PayloadDecryptionError {
  constructor() {
    super(
      'refused an unencrypted payload: encryption is on, so every payload must be encrypted ' +
        '(TENURE_ENCRYPTION_ACCEPT_PLAINTEXT=1 reads histories written before encryption was switched on)',
      undefined,
    );
    this.name = 'PlaintextPayloadError';
  }
}

export class AesGcmPayloadCodec implements PayloadCodec {
  readonly encryptKeyId: string;
  readonly acceptPlaintext: boolean;
  readonly #keys: Map<string, Buffer>;

  constructor(opts: AesGcmCodecOptions) {
    const entries = opts.keys instanceof Map ? [...opts.keys.entries()] : Object.entries(opts.keys);
    this.#keys = new Map();
    for (const [id, key] of entries) {
      if (!KEY_ID.test(id)) throw new Error(`encryption key id '${id}' must match ${KEY_ID.source}`);
      if (key.byteLength !== KEY_BYTES)
        throw new Error(`encryption key '${id}' is ${key.byteLength} bytes; AES-256 needs ${KEY_BYTES}`);
      this.#keys.set(id, Buffer.from(key));
    }
    if (!this.#keys.has(opts.encryptKeyId))
      throw new Error(`the encrypting key id '${opts.encryptKeyId}' is not among the keys (${this.keyIds.join(', ')})`);
    this.encryptKeyId = opts.encryptKeyId;
    this.acceptPlaintext = opts.acceptPlaintext ?? false;
  }

  /** The ids of every key this codec can decrypt with. */
  get keyIds(): string[] {
    return [...this.#keys.keys()];
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.encryptOne(p));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.decryptOne(p));
  }

  encryptOne(payload: Payload): Payload {
    // Already encrypted (e.g. sent back through the codec server's /encode): leave as it is.
    if (isEncrypted(payload)) return payload;
    const key = this.#keys.get(this.encryptKeyId)!;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    const body = Buffer.concat([cipher.update(encodePayloadProto(payload)), cipher.final()]);
    return {
      metadata: {
        [METADATA_ENCODING_KEY]: utf8.encode(ENCRYPTED_ENCODING),
        [METADATA_KEY_ID_KEY]: utf8.encode(this.encryptKeyId),
      },
      data: new Uint8Array(Buffer.concat([iv, body, cipher.getAuthTag()])),
    };
  }

  decryptOne(payload: Payload): Payload {
    if (!isEncrypted(payload)) {
      if (this.acceptPlaintext) return payload;
      throw new PlaintextPayloadError();
    }
    const idBytes = payload.metadata?.[METADATA_KEY_ID_KEY];
    const keyId = idBytes ? fromUtf8.decode(idBytes) : undefined;
    if (!keyId) throw new PayloadDecryptionError('encrypted payload has no encryption-key-id', undefined);
    const key = this.#keys.get(keyId);
    if (!key)
      throw new PayloadDecryptionError(
        `encrypted payload uses key id '${keyId}', which is not configured (have: ${this.keyIds.join(', ')})`,
        keyId,
      );
    const data = payload.data ?? new Uint8Array();
    if (data.byteLength < IV_BYTES + TAG_BYTES)
      throw new PayloadDecryptionError(`encrypted payload (key id '${keyId}') is too short`, keyId);
    const iv = data.subarray(0, IV_BYTES);
    const tag = data.subarray(data.byteLength - TAG_BYTES);
    const body = data.subarray(IV_BYTES, data.byteLength - TAG_BYTES);
    let plain: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      decipher.setAuthTag(tag);
      plain = Buffer.concat([decipher.update(body), decipher.final()]);
    } catch {
      throw new PayloadDecryptionError(
        `encrypted payload (key id '${keyId}') failed authentication: altered, or encrypted with another key of that id`,
        keyId,
      );
    }
    return decodePayloadProto(plain);
  }
}

export function isEncrypted(payload: Payload): boolean {
  const enc = payload.metadata?.[METADATA_ENCODING_KEY];
  return enc !== undefined && enc !== null && fromUtf8.decode(enc) === ENCRYPTED_ENCODING;
}

/**
 * For a client without keys: leaves what it sends as it is, and when it reads an encrypted payload
 * says which key is missing and how to provide it (instead of the converter's "Unknown encoding").
 */
export class MissingKeyPayloadCodec implements PayloadCodec {
  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads;
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    const encrypted = payloads.find(isEncrypted);
    if (!encrypted) return payloads;
    const idBytes = encrypted.metadata?.[METADATA_KEY_ID_KEY];
    const keyId = idBytes ? fromUtf8.decode(idBytes) : undefined;
    throw new PayloadDecryptionError(
      `the workflow data is encrypted${keyId ? ` with key '${keyId}'` : ''} and no encryption key is configured: ` +
        'set TENURE_ENCRYPTION_KEYS_FILE (or TENURE_ENCRYPTION_KEYS) and TENURE_ENCRYPTION_KEY_ID as for the worker ' +
        '(docs/encryption.md); for the demo run `source .run/demo/encryption.env` first',
      keyId,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Keys from the environment

/**
 * Parses `k1:<base64 of 32 bytes>,k2:<...>` (whitespace and newlines between entries allowed).
 * Errors name the entry and id, never the key text.
 */
export function parseEncryptionKeys(spec: string, source = 'TENURE_ENCRYPTION_KEYS'): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  const entries = spec
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean);
  entries.forEach((entry, i) => {
    const colon = entry.indexOf(':');
    if (colon <= 0) throw new Error(`${source} entry ${i + 1} is not <key id>:<base64 key>`);
    const id = entry.slice(0, colon).trim();
    const b64 = entry.slice(colon + 1).trim();
    if (!KEY_ID.test(id)) throw new Error(`${source} entry ${i + 1}: key id must match ${KEY_ID.source}`);
    if (keys.has(id)) throw new Error(`${source}: key id '${id}' appears twice`);
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(b64)) throw new Error(`${source}: key '${id}' is not base64`);
    const key = Buffer.from(b64.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (key.length !== KEY_BYTES)
      throw new Error(`${source}: key '${id}' decodes to ${key.length} bytes; AES-256 needs ${KEY_BYTES}`);
    keys.set(id, key);
  });
  return keys;
}

/**
 * The codec configured by the environment, or undefined when no keys are set (no encryption):
 *   TENURE_ENCRYPTION_KEYS       `id:<base64 32 bytes>,...` every key that may decrypt
 *   TENURE_ENCRYPTION_KEYS_FILE  a file holding the same text (instead of the variable)
 *   TENURE_ENCRYPTION_KEY_ID     the id new payloads are encrypted with (may be left out with one key)
 *   TENURE_ENCRYPTION_ACCEPT_PLAINTEXT=1  read unencrypted payloads too (histories from before encryption)
 */
export function payloadCodecFromEnv(env: NodeJS.ProcessEnv = process.env): AesGcmPayloadCodec | undefined {
  let spec = env.TENURE_ENCRYPTION_KEYS?.trim() ?? '';
  let source = 'TENURE_ENCRYPTION_KEYS';
  if (!spec && env.TENURE_ENCRYPTION_KEYS_FILE) {
    source = 'TENURE_ENCRYPTION_KEYS_FILE';
    spec = readFileSync(env.TENURE_ENCRYPTION_KEYS_FILE, 'utf8').trim();
  }
  const keyId = env.TENURE_ENCRYPTION_KEY_ID?.trim() || undefined;
  if (!spec) {
    if (keyId) throw new Error('TENURE_ENCRYPTION_KEY_ID is set but TENURE_ENCRYPTION_KEYS is empty');
    return undefined;
  }
  const keys = parseEncryptionKeys(spec, source);
  if (keys.size === 0) throw new Error(`${source} holds no keys`);
  let encryptKeyId = keyId;
  if (!encryptKeyId) {
    if (keys.size > 1)
      throw new Error(`${source} holds several keys: set TENURE_ENCRYPTION_KEY_ID to the one to encrypt with`);
    encryptKeyId = [...keys.keys()][0]!;
  }
  if (!keys.has(encryptKeyId))
    throw new Error(`TENURE_ENCRYPTION_KEY_ID '${encryptKeyId}' is not among the keys in ${source}`);
  return new AesGcmPayloadCodec({
    keys,
    encryptKeyId,
    acceptPlaintext: env.TENURE_ENCRYPTION_ACCEPT_PLAINTEXT === '1',
  });
}

/** A fresh random key entry `id:<base64>` (for scripts and docs). */
export function generateKeyEntry(id: string): string {
  if (!KEY_ID.test(id)) throw new Error(`key id must match ${KEY_ID.source}`);
  return `${id}:${randomBytes(KEY_BYTES).toString('base64')}`;
}

// ---------------------------------------------------------------------------------------------
// Protobuf wire format of temporal.api.common.v1.Payload, written out so the ciphertext holds the
// same bytes as other Temporal SDKs' codecs: field 1 `map<string, bytes> metadata` (each entry a
// message {1: key, 2: value}), field 2 `bytes data`. Unknown fields (e.g. 3 external_payloads, not
// used by Tenure) are skipped on decode.

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

function lengthDelimited(field: number, bytes: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([(field << 3) | 2, ...varint(bytes.byteLength)]), bytes]);
}

export function encodePayloadProto(payload: Payload): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(payload.metadata ?? {})) {
    const entry = Buffer.concat([lengthDelimited(1, utf8.encode(k)), lengthDelimited(2, v ?? new Uint8Array())]);
    parts.push(lengthDelimited(1, entry));
  }
  if (payload.data && payload.data.byteLength > 0) parts.push(lengthDelimited(2, payload.data));
  return Buffer.concat(parts);
}

class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}
  get done(): boolean {
    return this.pos >= this.buf.byteLength;
  }
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.byteLength) throw new Error('truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new Error('varint too long');
  }
  bytes(): Uint8Array {
    const len = this.varint();
    if (this.pos + len > this.buf.byteLength) throw new Error('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wireType}`);
  }
}

export function decodePayloadProto(bytes: Uint8Array): Payload {
  const r = new Reader(bytes);
  const metadata: Record<string, Uint8Array> = {};
  let data = new Uint8Array();
  while (!r.done) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 1 && wire === 2) {
      const e = new Reader(r.bytes());
      let key = '';
      let value = new Uint8Array();
      while (!e.done) {
        const t = e.varint();
        if (t === 0x0a) key = fromUtf8.decode(e.bytes());
        else if (t === 0x12) value = Uint8Array.from(e.bytes());
        else e.skip(t & 7);
      }
      metadata[key] = value;
    } else if (field === 2 && wire === 2) {
      data = Uint8Array.from(r.bytes());
    } else {
      r.skip(wire);
    }
  }
  return { metadata, data };
}
