// Transport rules (connectors/transport.ts): https:// for every SaaS call unless the test-only
// switch is set, and a credential-carrying call never follows a redirect. Real HTTP on loopback.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { smtpConfigFromEnv } from '../activities/notify.js';
import { HttpClient, HttpError } from '../connectors/http.js';
import { fetchWithRetry, VismaNetError } from '../connectors/sources/vismanet/http.js';
import { InsecureTransportError, insecureTransportAllowed, requireHttps } from '../connectors/transport.js';

describe('transport rules', () => {
  let server: Server;
  let base: string;
  const hits: string[] = [];

  before(async () => {
    server = createServer((req, res) => {
      hits.push(`${req.method} ${req.url}`);
      if (req.url === '/redirect') {
        res.writeHead(307, { location: `${base}/elsewhere` }).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  test('requireHttps: https always, http only with TENURE_ALLOW_INSECURE_TRANSPORT=1, other schemes never', () => {
    requireHttps('X_URL', 'https://api.example.org/x', {});
    assert.throws(
      () => requireHttps('TOPDESK_URL', 'http://td.example.org/tas', {}),
      (e: Error) => {
        assert.ok(e instanceof InsecureTransportError);
        assert.match(e.message, /^TOPDESK_URL: http:\/\/td\.example\.org is not allowed; use https:\/\//);
        assert.ok(!e.message.includes('/tas'), 'scheme and host only');
        return true;
      },
    );
    assert.throws(() => requireHttps('X', 'http://a.example', { TENURE_ALLOW_INSECURE_TRANSPORT: 'true' }));
    requireHttps('X', 'http://127.0.0.1:1/', { TENURE_ALLOW_INSECURE_TRANSPORT: '1' });
    assert.throws(() => requireHttps('X', 'ftp://a.example/', { TENURE_ALLOW_INSECURE_TRANSPORT: '1' }));
    assert.throws(() => requireHttps('X', 'not a url', {}), /X: not a URL/);
    assert.equal(insecureTransportAllowed({}), false);
    assert.equal(insecureTransportAllowed({ TENURE_ALLOW_INSECURE_TRANSPORT: '1' }), true);
  });

  test('SMTP: accepting any certificate is refused outside tests', () => {
    const smtp = { SMTP_HOST: 'smtp.example.test', SMTP_FROM: 'tenure@example.test', SMTP_TLS_INSECURE: 'true' };
    assert.throws(() => smtpConfigFromEnv(smtp), /SMTP_TLS_INSECURE .* tests only/);
    assert.equal(smtpConfigFromEnv({ ...smtp, TENURE_ALLOW_INSECURE_TRANSPORT: '1' }).tlsInsecure, true);
    assert.equal(smtpConfigFromEnv({ ...smtp, SMTP_TLS_INSECURE: 'false' }).tlsInsecure, false);
  });

  test('HttpClient refuses http:// before sending anything, outside tests', async () => {
    const before = hits.length;
    const client = new HttpClient({ env: {}, maxRetries: 0 });
    await assert.rejects(client.request(`${base}/api`), InsecureTransportError);
    assert.equal(hits.length, before, 'no request was sent');
    const allowed = new HttpClient({ env: { TENURE_ALLOW_INSECURE_TRANSPORT: '1' }, maxRetries: 0 });
    assert.equal((await allowed.request(`${base}/api`)).status, 200);
  });

  test('HttpClient never follows a redirect (a token POST keeps its secret)', async () => {
    const client = new HttpClient({ env: { TENURE_ALLOW_INSECURE_TRANSPORT: '1' }, maxRetries: 2, retryBaseMs: 1 });
    hits.length = 0;
    await assert.rejects(
      client.request(`${base}/redirect`, {
        method: 'POST',
        body: new URLSearchParams({ client_secret: 's3cr3t' }),
        retryUnsafe: true,
      }),
      (e: Error) => {
        assert.ok(e instanceof HttpError);
        assert.match(e.message, /POST \/redirect: answered with a redirect, which is never followed/);
        return true;
      },
    );
    assert.deepEqual(hits, ['POST /redirect'], 'asked once, not retried, and /elsewhere never called');
  });

  test('Visma.net: http:// refused outside tests; token and API calls refuse redirects, downloads may follow', async () => {
    const policy = {
      timeoutMs: 2000,
      maxRetries: 0,
      retryBaseDelayMs: 1,
      retryMaxDelayMs: 1,
      maxRetryAfterMs: 1,
      maxRateLimitWaitMs: 1,
    };
    const saved = process.env.TENURE_ALLOW_INSECURE_TRANSPORT;
    try {
      delete process.env.TENURE_ALLOW_INSECURE_TRANSPORT;
      await assert.rejects(fetchWithRetry(`${base}/api`, { method: 'GET' }, policy, 'token'), InsecureTransportError);
      process.env.TENURE_ALLOW_INSECURE_TRANSPORT = '1';
      hits.length = 0;
      await assert.rejects(
        fetchWithRetry(`${base}/redirect`, { method: 'POST', body: 'client_secret=s' }, policy, 'Visma Connect token'),
        (e: Error) => e instanceof VismaNetError && /answered with a redirect, which is never followed/.test(e.message),
      );
      assert.deepEqual(hits, ['POST /redirect']);
      const download = await fetchWithRetry(`${base}/redirect`, { method: 'GET', redirect: 'follow' }, policy, 'file');
      assert.equal(download.status, 200, 'a pre-signed download (no credentials) may be redirected');
    } finally {
      if (saved === undefined) delete process.env.TENURE_ALLOW_INSECURE_TRANSPORT;
      else process.env.TENURE_ALLOW_INSECURE_TRANSPORT = saved;
    }
  });
});
