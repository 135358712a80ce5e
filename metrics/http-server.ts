/**
 * Serves GET /metrics (Prometheus text format) from the worker process. Loopback by default:
 * put a reverse proxy or the Prometheus agent next to it rather than opening it to the network.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { TenureMetrics } from './tenure-metrics.js';

export interface MetricsListen {
  host: string;
  /** 0: any free port (tests). */
  port: number;
}

const listenSchema = z.object({
  host: z.string().min(1),
  port: z.coerce.number().int().min(0).max(65535),
});

/**
 * TENURE_METRICS_PORT (`off` disables) and TENURE_METRICS_HOST (default 127.0.0.1). Without a
 * port the default applies; no default: no server.
 */
export function metricsListenFromEnv(env: NodeJS.ProcessEnv, defaultPort?: number): MetricsListen | undefined {
  const port = env.TENURE_METRICS_PORT?.trim() || (defaultPort === undefined ? undefined : String(defaultPort));
  if (port === undefined || port === 'off') return undefined;
  const parsed = listenSchema.safeParse({ host: env.TENURE_METRICS_HOST?.trim() || '127.0.0.1', port });
  if (!parsed.success)
    throw new Error(
      `TENURE_METRICS_PORT / TENURE_METRICS_HOST: ${parsed.error.issues.map((i) => i.message).join('; ')}`,
    );
  return parsed.data;
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

export async function serveMetrics(metrics: TenureMetrics, listen: MetricsListen): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    metrics.render().then(
      (body) => res.writeHead(200, { 'content-type': metrics.contentType }).end(body),
      (err: unknown) =>
        res
          .writeHead(500, { 'content-type': 'text/plain' })
          .end(`metrics failed: ${err instanceof Error ? err.message : String(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
