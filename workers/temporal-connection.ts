/**
 * Builds Temporal connections from the environment, for workers, the CLI and tests.
 *   TEMPORAL_ADDRESS     host:port (default 127.0.0.1:7233)
 *   TEMPORAL_NAMESPACE   (default 'default')
 *   TEMPORAL_TLS_CERT_FILE / TEMPORAL_TLS_KEY_FILE   client certificate for mTLS
 *   TEMPORAL_TLS_CA_FILE                             server CA, when not a public one
 *   TEMPORAL_TLS_SERVER_NAME                         SNI override
 *   TEMPORAL_API_KEY                                 API key auth (implies TLS)
 *   TENURE_ENCRYPTION_KEYS / TENURE_ENCRYPTION_KEY_ID   payload encryption (common/payload-codec.ts)
 *   TENURE_PAYLOADS_PLAINTEXT=1                      run a worker without encryption (tests, demo)
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client, Connection, type ConnectionOptions, type TLSConfig } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { DataConverter } from '@temporalio/common';
import { MissingKeyPayloadCodec, payloadCodecFromEnv } from '../common/payload-codec.js';

export interface TemporalSettings {
  address: string;
  namespace: string;
  tls?: TLSConfig;
  apiKey?: string;
  /** Payload encryption (issue 3); undefined when TENURE_ENCRYPTION_KEYS is not set. */
  dataConverter?: DataConverter;
}

// --- payload encryption (issue 3) ---
/** Module exporting the failure converter that moves error messages and stack traces into an encoded payload. */
export const FAILURE_CONVERTER_PATH = fileURLToPath(new URL('../common/failure-converter.ts', import.meta.url));

/**
 * The data converter with the AES-GCM payload codec from TENURE_ENCRYPTION_KEYS, and the failure
 * converter that puts failure messages and stack traces into a payload, so they are encrypted too.
 * Undefined without keys.
 */
export function dataConverterFromEnv(env: NodeJS.ProcessEnv = process.env): DataConverter | undefined {
  const codec = payloadCodecFromEnv(env);
  return codec ? { payloadCodecs: [codec], failureConverterPath: FAILURE_CONVERTER_PATH } : undefined;
}

/**
 * For processes that run workers: the data converter, or an error when there are no keys and
 * plaintext was not asked for explicitly (TENURE_PAYLOADS_PLAINTEXT=1), so a missing secret never
 * silently stores personal data in clear.
 */
export function workerDataConverterFromEnv(env: NodeJS.ProcessEnv = process.env): DataConverter | undefined {
  const converter = dataConverterFromEnv(env);
  if (converter) return converter;
  if (env.TENURE_PAYLOADS_PLAINTEXT === '1') return undefined;
  throw new Error(
    'payload encryption is not configured: set TENURE_ENCRYPTION_KEYS (or TENURE_ENCRYPTION_KEYS_FILE), ' +
      'or TENURE_PAYLOADS_PLAINTEXT=1 to store workflow data unencrypted (tests and demos only)',
  );
}
// --- end payload encryption ---

export function temporalSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const certFile = env.TEMPORAL_TLS_CERT_FILE;
  const keyFile = env.TEMPORAL_TLS_KEY_FILE;
  const caFile = env.TEMPORAL_TLS_CA_FILE;
  if (Boolean(certFile) !== Boolean(keyFile)) {
    throw new Error('TEMPORAL_TLS_CERT_FILE and TEMPORAL_TLS_KEY_FILE must be set together');
  }
  const apiKey = env.TEMPORAL_API_KEY || undefined;
  const wantsTls = Boolean(certFile || caFile || apiKey || env.TEMPORAL_TLS === 'true');
  const tls: TLSConfig | undefined = wantsTls
    ? {
        serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME || undefined,
        serverRootCACertificate: caFile ? readFileSync(caFile) : undefined,
        clientCertPair: certFile && keyFile ? { crt: readFileSync(certFile), key: readFileSync(keyFile) } : undefined,
      }
    : undefined;
  return {
    address: env.TEMPORAL_ADDRESS || '127.0.0.1:7233',
    namespace: env.TEMPORAL_NAMESPACE || 'default',
    tls,
    apiKey,
    dataConverter: dataConverterFromEnv(env), // payload encryption (issue 3)
  };
}

function connectionOptions(s: TemporalSettings): ConnectionOptions & { apiKey?: string } {
  return { address: s.address, tls: s.tls, apiKey: s.apiKey };
}

/** Without keys the client still recognises encrypted data and says what is missing (CLI, scripts). */
export async function connectClient(settings = temporalSettingsFromEnv()): Promise<Client> {
  const connection = await Connection.connect(connectionOptions(settings));
  const dataConverter = settings.dataConverter ?? { payloadCodecs: [new MissingKeyPayloadCodec()] };
  return new Client({ connection, namespace: settings.namespace, dataConverter });
}

export async function connectWorker(settings = temporalSettingsFromEnv()): Promise<NativeConnection> {
  return NativeConnection.connect(connectionOptions(settings));
}
