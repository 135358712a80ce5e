// Payload encryption (issue 3): the AES-256-GCM codec, the codec server over real HTTP on
// 127.0.0.1, and end to end through the test Temporal server: the history holds only ciphertext.
import './support/quiet-runtime.js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import {
  AesGcmPayloadCodec,
  ENCRYPTED_ENCODING,
  MissingKeyPayloadCodec,
  PayloadDecryptionError,
  PlaintextPayloadError,
  generateKeyEntry,
  parseEncryptionKeys,
  payloadCodecFromEnv,
} from '../common/payload-codec.js';
import { codecServerOptionsFromEnv, startCodecServer, type RunningCodecServer } from '../workers/codec-server.js';
import {
  FAILURE_CONVERTER_PATH,
  connectClient,
  connectWorker,
  dataConverterFromEnv,
  temporalSettingsFromEnv,
  workerDataConverterFromEnv,
} from '../workers/temporal-connection.js';
import { uniqueSuffix } from './support/env.js';
import { seenQuery, wakeSignal } from './support/smoke-workflows.js';

const NAME = "Zoë van den D'Angelo";
const k1 = randomBytes(32);
const k2 = randomBytes(32);
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('utf8');
const json = (v: unknown): Payload => defaultPayloadConverter.toPayload(v);
const value = (p: Payload): unknown => defaultPayloadConverter.fromPayload(p);

/** Every Uint8Array and string reachable from a (protobuf) object, concatenated. */
function rawBytes(root: unknown): Buffer {
  const parts: Buffer[] = [];
  const seen = new Set<unknown>();
  const walk = (v: unknown, depth: number): void => {
    if (depth > 50 || v === null || v === undefined) return;
    if (typeof v === 'string') parts.push(Buffer.from(v));
    else if (v instanceof Uint8Array) parts.push(Buffer.from(v));
    else if (typeof v === 'object' && !seen.has(v)) {
      seen.add(v);
      for (const x of Object.values(v as object)) walk(x, depth + 1);
    }
  };
  walk(root, 0);
  return Buffer.concat(parts);
}

describe('AesGcmPayloadCodec', () => {
  const codec = new AesGcmPayloadCodec({ keys: { k1 }, encryptKeyId: 'k1' });

  test('round-trips JSON, binary and empty payloads, marking them binary/encrypted with the key id', async () => {
    const inputs: Payload[] = [
      json({ displayName: NAME, start: '2027-02-01' }),
      defaultPayloadConverter.toPayload(new Uint8Array([0, 1, 2, 255])),
      json(null),
      { metadata: { encoding: Buffer.from('json/plain') }, data: new Uint8Array() },
    ];
    const encoded = await codec.encode(inputs);
    assert.equal(encoded.length, inputs.length);
    for (const e of encoded) {
      assert.equal(text(e.metadata?.encoding), ENCRYPTED_ENCODING);
      assert.equal(text(e.metadata?.['encryption-key-id']), 'k1');
      assert.ok(!Buffer.from(e.data!).includes(Buffer.from('Zo')), 'no plaintext in the ciphertext');
    }
    const decoded = await codec.decode(encoded);
    assert.deepEqual(value(decoded[0]!), { displayName: NAME, start: '2027-02-01' });
    assert.deepEqual(value(decoded[1]!), new Uint8Array([0, 1, 2, 255]));
    assert.equal(value(decoded[2]!), null);
    assert.equal(text(decoded[3]!.metadata?.encoding), 'json/plain');
    assert.equal(decoded[3]!.data?.byteLength, 0);
    for (let i = 0; i < inputs.length; i++) {
      assert.deepEqual(
        Object.keys(decoded[i]!.metadata!).sort(),
        Object.keys(inputs[i]!.metadata!).sort(),
        'metadata keys survive',
      );
    }
  });

  test('uses a fresh 12-byte IV every time: the same input never gives the same ciphertext', async () => {
    const p = json(NAME);
    const seen = new Set<string>();
    const ivs = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const [e] = await codec.encode([p]);
      seen.add(Buffer.from(e!.data!).toString('hex'));
      ivs.add(Buffer.from(e!.data!.subarray(0, 12)).toString('hex'));
    }
    assert.equal(seen.size, 50);
    assert.equal(ivs.size, 50);
  });

  test('refuses a tampered payload (ciphertext, tag, IV or key id) without revealing anything', async () => {
    const [e] = await codec.encode([json(NAME)]);
    const data = e!.data!;
    for (const at of [0, 12, Math.floor(data.length / 2), data.length - 1]) {
      const bad = Uint8Array.from(data);
      bad[at] = bad[at]! ^ 0x01;
      await assert.rejects(codec.decode([{ metadata: e!.metadata, data: bad }]), (err: unknown) => {
        assert.ok(err instanceof PayloadDecryptionError);
        assert.match(err.message, /failed authentication/);
        assert.doesNotMatch(err.message, /Zo|D'Angelo/);
        return true;
      });
    }
    await assert.rejects(codec.decode([{ metadata: e!.metadata, data: data.subarray(0, 20) }]), /too short/);
    const other = new AesGcmPayloadCodec({ keys: { k1: k2 }, encryptKeyId: 'k1' });
    await assert.rejects(other.decode([e!]), PayloadDecryptionError, 'same id, other key');
    await assert.rejects(
      codec.decode([{ metadata: { ...e!.metadata, 'encryption-key-id': Buffer.from('k9') }, data }]),
      /key id 'k9', which is not configured/,
    );
  });

  test('after rotation decodes payloads made with the old key and encrypts with the new one', async () => {
    const before = new AesGcmPayloadCodec({ keys: { k1 }, encryptKeyId: 'k1' });
    const [old] = await before.encode([json(NAME)]);
    const rotated = new AesGcmPayloadCodec({
      keys: new Map([
        ['k1', k1],
        ['k2', k2],
      ]),
      encryptKeyId: 'k2',
    });
    assert.equal(value((await rotated.decode([old!]))[0]!), NAME);
    const [fresh] = await rotated.encode([json(NAME)]);
    assert.equal(text(fresh!.metadata?.['encryption-key-id']), 'k2');
    await assert.rejects(before.decode([fresh!]), /key id 'k2'/);
  });

  test('refuses unencrypted payloads; passes them through only when asked (old histories), and does not encrypt twice', async () => {
    const plain = [json({ a: 1 }), { metadata: { encoding: Buffer.from('binary/null') } }];
    for (const p of plain) {
      await assert.rejects(codec.decode([p]), (err: Error) => {
        assert.ok(err instanceof PlaintextPayloadError);
        assert.ok(err instanceof PayloadDecryptionError);
        assert.match(err.message, /refused an unencrypted payload/);
        return true;
      });
    }
    const migrating = new AesGcmPayloadCodec({ keys: { k1 }, encryptKeyId: 'k1', acceptPlaintext: true });
    assert.deepEqual(await migrating.decode(plain), plain);
    const fromEnv = (extra: Record<string, string>) =>
      payloadCodecFromEnv({ TENURE_ENCRYPTION_KEYS: `k1:${k1.toString('base64')}`, ...extra })!;
    assert.equal(fromEnv({}).acceptPlaintext, false);
    assert.equal(fromEnv({ TENURE_ENCRYPTION_ACCEPT_PLAINTEXT: '1' }).acceptPlaintext, true);
    const [once] = await codec.encode([json(NAME)]);
    const [twice] = await codec.encode([once!]);
    assert.equal(twice, once);
  });

  test('without keys, encrypted data gives an error that says which key is missing and how to set it', async () => {
    const keyless = new MissingKeyPayloadCodec();
    const plain = [json({ a: 1 })];
    assert.equal(await keyless.encode(plain), plain, 'sends what it gets');
    assert.deepEqual(await keyless.decode(plain), plain);
    const [sealed] = await codec.encode([json(NAME)]);
    await assert.rejects(
      keyless.decode([sealed!]),
      (err: Error) =>
        err instanceof PayloadDecryptionError &&
        /encrypted with key 'k1' and no encryption key is configured/.test(err.message) &&
        /TENURE_ENCRYPTION_KEYS_FILE/.test(err.message) &&
        /source \.run\/demo\/encryption\.env/.test(err.message),
    );
  });

  test('keys from the environment: parsing, defaults and errors that never show key material', () => {
    assert.equal(payloadCodecFromEnv({}), undefined);
    assert.equal(dataConverterFromEnv({}), undefined);
    assert.equal(temporalSettingsFromEnv({}).dataConverter, undefined);
    const b1 = k1.toString('base64');
    const b2 = k2.toString('base64');
    const one = payloadCodecFromEnv({ TENURE_ENCRYPTION_KEYS: `k1:${b1}` });
    assert.equal(one?.encryptKeyId, 'k1');
    const two = payloadCodecFromEnv({
      TENURE_ENCRYPTION_KEYS: ` k1:${b1},\n k2:${b2} `,
      TENURE_ENCRYPTION_KEY_ID: 'k2',
    });
    assert.deepEqual(two?.keyIds, ['k1', 'k2']);
    assert.equal(two?.encryptKeyId, 'k2');
    assert.equal(dataConverterFromEnv({ TENURE_ENCRYPTION_KEYS: `k1:${b1}` })?.payloadCodecs?.length, 1);
    const short = randomBytes(31).toString('base64');
    const cases: [NodeJS.ProcessEnv, RegExp][] = [
      [{ TENURE_ENCRYPTION_KEYS: `k1:${b1},k2:${b2}` }, /set TENURE_ENCRYPTION_KEY_ID/],
      [{ TENURE_ENCRYPTION_KEYS: `k1:${b1}`, TENURE_ENCRYPTION_KEY_ID: 'k3' }, /'k3' is not among/],
      [{ TENURE_ENCRYPTION_KEY_ID: 'k1' }, /TENURE_ENCRYPTION_KEYS is empty/],
      [{ TENURE_ENCRYPTION_KEYS: `k1:${short}` }, /'k1' decodes to 31 bytes/],
      [{ TENURE_ENCRYPTION_KEYS: `k1:${b1},k1:${b2}` }, /appears twice/],
      [{ TENURE_ENCRYPTION_KEYS: b1 }, /entry 1 is not <key id>:<base64 key>/],
      [{ TENURE_ENCRYPTION_KEYS: `k1:${b1}!` }, /'k1' is not base64/],
    ];
    for (const [env, expected] of cases) {
      assert.throws(
        () => payloadCodecFromEnv(env),
        (err: Error) => {
          assert.match(err.message, expected);
          for (const secret of [b1, b2, short, b1.slice(0, 12), b2.slice(0, 12)])
            assert.ok(!err.message.includes(secret), 'no key material in the message');
          return true;
        },
      );
    }
    const entry = generateKeyEntry('demo1');
    assert.equal(parseEncryptionKeys(entry).get('demo1')?.length, 32);
  });
});

describe('codec server', () => {
  const codec = new AesGcmPayloadCodec({ keys: { k1, k2 }, encryptKeyId: 'k2' });
  const ORIGIN = 'http://127.0.0.1:18233';
  const TOKEN = `tok-${randomBytes(12).toString('hex')}`;
  const logs: string[] = [];
  let open: RunningCodecServer;
  let guarded: RunningCodecServer;

  before(async () => {
    open = await startCodecServer({ codec, origins: [ORIGIN], port: 0, log: (l) => logs.push(l) });
    guarded = await startCodecServer({
      codec,
      origins: [ORIGIN],
      port: 0,
      token: TOKEN,
      maxBodyBytes: 64 * 1024,
      log: (l) => logs.push(l),
    });
  });
  after(async () => {
    await open?.close();
    await guarded?.close();
  });

  const toJson = (p: Payload) => ({
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v!).toString('base64')]),
    ),
    data: Buffer.from(p.data ?? []).toString('base64'),
  });
  const post = (server: RunningCodecServer, path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Namespace': 'default', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(5_000),
    });

  test('listens on 127.0.0.1 by default and answers /health', async () => {
    assert.equal(open.host, '127.0.0.1');
    assert.match(open.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${open.url}/health`, { signal: AbortSignal.timeout(5_000) });
    assert.deepEqual(await res.json(), { ok: true });
  });

  test('/encode and /decode answer {payloads:[{metadata,data}]} in base64, round trip included', async () => {
    const plain = [json({ displayName: NAME }), json('second')];
    const encRes = await post(open, '/encode', { payloads: plain.map(toJson) });
    assert.equal(encRes.status, 200);
    assert.match(encRes.headers.get('content-type') ?? '', /^application\/json/);
    const enc = (await encRes.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    assert.equal(enc.payloads.length, 2);
    for (const p of enc.payloads) {
      assert.deepEqual(Object.keys(p).sort(), ['data', 'metadata']);
      assert.equal(Buffer.from(p.metadata.encoding!, 'base64').toString(), ENCRYPTED_ENCODING);
      assert.equal(Buffer.from(p.metadata['encryption-key-id']!, 'base64').toString(), 'k2');
    }
    // Payloads the worker made (with the old key too) decode through the server.
    const [byWorker] = await new AesGcmPayloadCodec({ keys: { k1 }, encryptKeyId: 'k1' }).encode([json(NAME)]);
    const decRes = await post(open, '/decode', { payloads: [...enc.payloads, toJson(byWorker!), toJson(json(7))] });
    assert.equal(decRes.status, 200);
    const dec = (await decRes.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    const values = dec.payloads.map((p) =>
      value({
        metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
        data: Buffer.from(p.data, 'base64'),
      }),
    );
    // The unencrypted one comes back as it was (never decrypted, never trusted) and is counted.
    assert.deepEqual(values, [{ displayName: NAME }, 'second', NAME, 7]);
    assert.ok(
      logs.some((l) => l.includes('unencrypted=1')),
      logs.join('\n'),
    );
    assert.deepEqual(await (await post(open, '/decode', { payloads: [] })).json(), { payloads: [] });
  });

  test('an undecryptable payload comes back unchanged while the others decode', async () => {
    const [good, bad] = await codec.encode([json('ok'), json(NAME)]);
    const tampered = {
      ...toJson(bad!),
      data: Buffer.from(bad!.data!.map((b, i) => (i === 20 ? b ^ 1 : b))).toString('base64'),
    };
    const res = await post(open, '/decode', { payloads: [toJson(good!), tampered] });
    assert.equal(res.status, 200);
    const out = (await res.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    assert.equal(Buffer.from(out.payloads[0]!.data, 'base64').toString(), '"ok"');
    assert.deepEqual(out.payloads[1], tampered);
    assert.ok(logs.some((l) => l.includes('undecryptable=1')));
  });

  test('malformed requests: 400 for bad JSON or shape, 404 elsewhere, 405 for GET', async () => {
    assert.equal((await post(open, '/decode', '{not json')).status, 400);
    assert.equal((await post(open, '/decode', { payload: [] })).status, 400);
    assert.equal((await post(open, '/decode', { payloads: [{ data: 'not base64!' }] })).status, 400);
    assert.equal((await post(open, '/other', { payloads: [] })).status, 404);
    const get = await fetch(`${open.url}/decode`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(get.status, 405);
  });

  test('with a token: no or a wrong bearer token is 401, the right one works; the token is never logged', async () => {
    const body = { payloads: [toJson(json(NAME))] };
    const none = await post(guarded, '/encode', body);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.equal((await post(guarded, '/decode', body, { Authorization: `Bearer ${TOKEN}x` })).status, 401);
    assert.equal((await post(guarded, '/decode', body, { Authorization: `Basic ${TOKEN}` })).status, 401);
    assert.equal((await post(guarded, '/decode', body, { Authorization: `Bearer ${TOKEN}` })).status, 200);
    assert.ok(logs.length > 0);
    assert.ok(!logs.join('\n').includes(TOKEN.slice(4)), 'token not in the log');
    assert.ok(!logs.join('\n').includes('Zo'), 'no payload content in the log');
  });

  test('size limit: a body over the limit is 413', async () => {
    const big = { payloads: [toJson(json('x'.repeat(70 * 1024)))] };
    const res = await post(guarded, '/encode', big, { Authorization: `Bearer ${TOKEN}` });
    assert.equal(res.status, 413);
  });

  test('CORS: preflight answered for the configured origin only; requests from other origins refused', async () => {
    const preflight = (server: RunningCodecServer, origin: string) =>
      fetch(`${server.url}/decode`, {
        method: 'OPTIONS',
        headers: {
          Origin: origin,
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'content-type,x-namespace,authorization',
        },
        signal: AbortSignal.timeout(5_000),
      });
    const ok = await preflight(open, ORIGIN);
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), ORIGIN);
    assert.match(ok.headers.get('access-control-allow-methods') ?? '', /POST/);
    assert.match(ok.headers.get('access-control-allow-headers') ?? '', /X-Namespace/);
    assert.match(ok.headers.get('access-control-allow-headers') ?? '', /Content-Type/);
    assert.doesNotMatch(ok.headers.get('access-control-allow-headers') ?? '', /Authorization/);
    assert.equal(ok.headers.get('access-control-allow-credentials'), null);
    const guardedOk = await preflight(guarded, ORIGIN);
    assert.equal(guardedOk.status, 204, 'preflight needs no token');
    assert.match(guardedOk.headers.get('access-control-allow-headers') ?? '', /Authorization/);

    for (const other of ['http://localhost:18233', 'http://127.0.0.1:8233', 'https://evil.example', 'null']) {
      const res = await preflight(open, other);
      assert.equal(res.status, 403, other);
      assert.equal(res.headers.get('access-control-allow-origin'), null, other);
    }
    const body = { payloads: [toJson(json(NAME))] };
    const fromUi = await post(open, '/decode', body, { Origin: ORIGIN });
    assert.equal(fromUi.status, 200);
    assert.equal(fromUi.headers.get('access-control-allow-origin'), ORIGIN);
    const fromElsewhere = await post(open, '/decode', body, { Origin: 'https://evil.example' });
    assert.equal(fromElsewhere.status, 403);
    assert.equal(fromElsewhere.headers.get('access-control-allow-origin'), null);
  });

  test('settings from the environment', () => {
    const keys = `k1:${k1.toString('base64')}`;
    const s = codecServerOptionsFromEnv({ TENURE_ENCRYPTION_KEYS: keys, TEMPORAL_UI_URL: 'http://127.0.0.1:18233/' });
    assert.deepEqual(s.origins, ['http://127.0.0.1:18233']);
    assert.equal(s.host, '127.0.0.1');
    assert.equal(s.port, 8888);
    assert.equal(s.token, undefined);
    const t = codecServerOptionsFromEnv({
      TENURE_ENCRYPTION_KEYS: keys,
      TENURE_CODEC_ORIGINS: 'http://localhost:8080, http://127.0.0.1:8233',
      TENURE_CODEC_TOKEN: 'abc',
      TENURE_CODEC_PORT: '0',
    });
    assert.deepEqual(t.origins, ['http://localhost:8080', 'http://127.0.0.1:8233']);
    assert.equal(t.token, 'abc');
    assert.throws(() => codecServerOptionsFromEnv({}), /needs TENURE_ENCRYPTION_KEYS/);
    assert.throws(
      () => codecServerOptionsFromEnv({ TENURE_ENCRYPTION_KEYS: keys, TENURE_CODEC_ORIGINS: '*' }),
      /exact origin/,
    );
    assert.throws(
      () => codecServerOptionsFromEnv({ TENURE_ENCRYPTION_KEYS: keys, TENURE_CODEC_ORIGINS: 'http://a.test/ui' }),
      /exact origin/,
    );
  });
});

describe('worker settings', () => {
  test('a worker refuses to start without keys unless plaintext is asked for; with keys failures are encoded too', () => {
    assert.throws(
      () => workerDataConverterFromEnv({}),
      /payload encryption is not configured.*TENURE_PAYLOADS_PLAINTEXT=1/s,
    );
    assert.throws(() => workerDataConverterFromEnv({ TENURE_PAYLOADS_PLAINTEXT: 'yes' }), /not configured/);
    assert.equal(workerDataConverterFromEnv({ TENURE_PAYLOADS_PLAINTEXT: '1' }), undefined);
    const withKeys = workerDataConverterFromEnv({ TENURE_ENCRYPTION_KEYS: `w:${k1.toString('base64')}` });
    assert.equal(withKeys?.payloadCodecs?.length, 1);
    assert.equal(withKeys?.failureConverterPath, FAILURE_CONVERTER_PATH);
    // Keys win over the plaintext switch.
    const both = workerDataConverterFromEnv({
      TENURE_ENCRYPTION_KEYS: `w:${k1.toString('base64')}`,
      TENURE_PAYLOADS_PLAINTEXT: '1',
    });
    assert.equal(both?.payloadCodecs?.length, 1);
  });
});

describe('end to end through Temporal', { skip: !process.env.TEMPORAL_ADDRESS && 'TEMPORAL_ADDRESS not set' }, () => {
  test('input, signal, memo and result are ciphertext in the history; the worker with the codec runs the workflow', async () => {
    const keyEnv = {
      ...process.env,
      TENURE_ENCRYPTION_KEYS: `e2e:${k1.toString('base64')}`,
      TENURE_ENCRYPTION_KEY_ID: 'e2e',
    };
    const settings = temporalSettingsFromEnv(keyEnv);
    assert.ok(settings.dataConverter, 'the env gives a data converter');
    const connection = await Connection.connect({ address: settings.address });
    const encrypted = new Client({ connection, namespace: settings.namespace, dataConverter: settings.dataConverter });
    const raw = new Client({ connection, namespace: settings.namespace }); // no codec: sees what Temporal stores
    const nativeConnection = await connectWorker(settings);
    const bundle = await bundleWorkflowCode({
      workflowsPath: fileURLToPath(new URL('./support/smoke-workflows.ts', import.meta.url)),
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
    });
    const taskQueue = `codec-${uniqueSuffix()}`;
    const workflowId = `codec-e2e-${uniqueSuffix()}`;
    const opaqueId = `p-${uniqueSuffix()}`;
    try {
      const worker = await Worker.create({
        connection: nativeConnection,
        namespace: settings.namespace,
        taskQueue,
        workflowBundle: bundle,
        dataConverter: settings.dataConverter,
      });
      const result = await worker.runUntil(async () => {
        const handle = await encrypted.workflow.start('waitForWake', {
          workflowId,
          taskQueue,
          args: [opaqueId],
          memo: { displayName: NAME },
          workflowExecutionTimeout: '1 minute',
        });
        await handle.signal(wakeSignal, NAME);
        assert.deepEqual(await handle.query(seenQuery), [NAME], 'query through the codec');
        await handle.signal(wakeSignal, 'done');
        return handle.result();
      });
      assert.deepEqual(result, [NAME, 'done'], 'the workflow ran and its result decodes');

      const history = await raw.workflow.getHandle(workflowId).fetchHistory();
      const events = history.events ?? [];
      const started = events[0]?.workflowExecutionStartedEventAttributes;
      const input = started?.input?.payloads?.[0];
      assert.ok(input, 'the started event has an input');
      assert.equal(text(input.metadata?.encoding), ENCRYPTED_ENCODING);
      assert.equal(text(input.metadata?.['encryption-key-id']), 'e2e');
      assert.equal(text(started?.memo?.fields?.displayName?.metadata?.encoding), ENCRYPTED_ENCODING);
      const signals = events.filter((e) => e.workflowExecutionSignaledEventAttributes);
      assert.equal(signals.length, 2);
      for (const s of signals)
        assert.equal(
          text(s.workflowExecutionSignaledEventAttributes?.input?.payloads?.[0]?.metadata?.encoding),
          ENCRYPTED_ENCODING,
        );
      const completed = events.find((e) => e.workflowExecutionCompletedEventAttributes);
      assert.equal(
        text(completed?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0]?.metadata?.encoding),
        ENCRYPTED_ENCODING,
      );
      // Every byte and string of the raw history: the name is nowhere in clear. (The opaque id is,
      // in the search attribute the smoke workflow sets: search attributes are never encrypted.)
      const bytes = rawBytes(history);
      for (const needle of ['Zoë', "D'Angelo"])
        assert.ok(!bytes.includes(Buffer.from(needle)), `'${needle}' not in the history`);
      assert.ok(!Buffer.from(input.data!).includes(Buffer.from(opaqueId)), 'the input is not in clear');
      assert.ok(bytes.includes(Buffer.from(opaqueId)), 'the walk does see clear bytes (search attribute)');
      // ...while the client with the codec reads the memo back in clear.
      assert.deepEqual((await encrypted.workflow.getHandle(workflowId).describe()).memo, { displayName: NAME });
      // The CLI's client without the key settings says what is missing instead of "Unknown encoding".
      const keyless = await connectClient(
        temporalSettingsFromEnv({ TEMPORAL_ADDRESS: settings.address, TEMPORAL_NAMESPACE: settings.namespace }),
      );
      try {
        await assert.rejects(keyless.workflow.getHandle(workflowId).result(), /with key 'e2e' and no encryption key/);
      } finally {
        await keyless.connection.close();
      }
    } finally {
      await nativeConnection.close();
      await connection.close();
    }
  });
});
