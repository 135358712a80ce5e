/**
 * Static checks of docker-compose.yml. Nothing is started: `docker compose config` only parses,
 * interpolates and validates the file, which needs the docker CLI with the compose plugin but
 * no Docker engine. Skipped (with the reason) when either is missing.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const COMPOSE_FILE = join(ROOT, 'docker-compose.yml');
const SETUP_SCRIPT = join(ROOT, 'deploy/temporal/setup.sh');

const SERVICES = [
  'postgres',
  'temporal-schema',
  'temporal',
  'temporal-setup',
  'temporal-ui',
  'tenure-worker',
  'tenure-codec',
  'tenure-migrate',
];
const SEARCH_ATTRIBUTES = [
  'EmployeeId=Keyword',
  'LifecycleState=Keyword',
  'Department=Keyword',
  'StartDate=Datetime',
  'EndDate=Datetime',
  'ProvisioningHealth=Keyword',
  'SourceId=Keyword',
  'PollState=Keyword',
];
const TEST_PASSWORD = 'compose-test-password';

interface PortConfig {
  host_ip?: string;
  target: number;
  published?: string;
}
interface ServiceConfig {
  image?: string;
  ports?: PortConfig[];
  environment?: Record<string, string | null>;
  depends_on?: Record<string, { condition: string }>;
  volumes?: { type: string; source?: string; target: string; read_only?: boolean }[];
  entrypoint?: string[];
  command?: string[];
  healthcheck?: { test?: string[] };
}
interface ComposeConfig {
  services: Record<string, ServiceConfig>;
}

/** Why the checks cannot run here, or undefined when `docker compose` is usable. */
function composeUnavailable(): string | undefined {
  const docker = spawnSync('docker', ['--version'], { encoding: 'utf8' });
  if (docker.error)
    return `docker CLI not on PATH (${(docker.error as NodeJS.ErrnoException).code ?? docker.error.message})`;
  const compose = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
  if (compose.status !== 0) return 'docker compose plugin not installed (`docker compose version` failed)';
  return undefined;
}

/**
 * Runs `docker compose config` with a minimal environment and an empty env file, so a developer's
 * real .env (and its secrets) never influences or appears in the test.
 */
function composeConfig(env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tenure-compose-'));
  try {
    const envFile = join(dir, 'empty.env');
    writeFileSync(envFile, '');
    const r = spawnSync(
      'docker',
      ['compose', '--env-file', envFile, '-f', COMPOSE_FILE, 'config', '--format', 'json'],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 60_000,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: process.env.HOME ?? dir,
          ...pick('DOCKER_CONFIG'),
          ...env,
        },
      },
    );
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function pick(...names: string[]): Record<string, string> {
  return Object.fromEntries(names.flatMap((n) => (process.env[n] ? [[n, process.env[n]]] : [])));
}

const skipReason = composeUnavailable();

test('docker-compose.yml renders and has the expected shape', { skip: skipReason }, async (t) => {
  const r = composeConfig({ POSTGRES_PASSWORD: TEST_PASSWORD, TENURE_WORKER_DB_PASSWORD: 'compose-test-worker' });
  assert.equal(r.status, 0, `docker compose config failed:\n${r.stderr}`);
  const config = JSON.parse(r.stdout) as ComposeConfig;
  const services = config.services;

  await t.test('every service exists', () => {
    for (const name of SERVICES) assert.ok(services[name], `service ${name} is missing`);
  });

  await t.test('every published port is bound to 127.0.0.1', () => {
    let count = 0;
    for (const [name, svc] of Object.entries(services)) {
      for (const p of svc.ports ?? []) {
        count++;
        assert.equal(
          p.host_ip,
          '127.0.0.1',
          `${name} publishes ${p.published ?? '?'}:${p.target} on ${p.host_ip ?? 'all interfaces'}`,
        );
      }
    }
    assert.ok(count >= 2, 'expected at least the Temporal frontend and the UI to be published');
    assert.ok(
      services['temporal-ui']!.ports?.some((p) => p.target === 8080),
      'UI must publish 8080',
    );
  });

  await t.test('startup order: schema -> temporal -> setup -> worker', () => {
    const completed = (svc: string, dep: string) =>
      assert.equal(
        services[svc]!.depends_on?.[dep]?.condition,
        'service_completed_successfully',
        `${svc} must wait for ${dep} to complete`,
      );
    completed('temporal', 'temporal-schema');
    completed('tenure-worker', 'temporal-setup');
    completed('tenure-worker', 'tenure-migrate');
    assert.equal(services['temporal-schema']!.depends_on?.postgres?.condition, 'service_healthy');
    assert.equal(services['temporal-setup']!.depends_on?.temporal?.condition, 'service_healthy');
    assert.equal(services['tenure-migrate']!.depends_on?.postgres?.condition, 'service_healthy');
    assert.ok(
      services.postgres!.healthcheck?.test?.join(' ').includes('pg_isready'),
      'postgres healthcheck uses pg_isready',
    );
    assert.ok(services.temporal!.healthcheck?.test?.length, 'temporal has a healthcheck');
  });

  await t.test('temporal server, UI and worker settings', () => {
    const env = (svc: string) => services[svc]!.environment ?? {};
    assert.match(services.temporal!.image ?? '', /^temporalio\/server:1\.29\./);
    assert.equal(env('temporal').DB, 'postgres12');
    assert.equal(env('temporal').POSTGRES_SEEDS, 'postgres');
    assert.equal(env('temporal').BIND_ON_IP, '0.0.0.0');
    assert.ok(
      services.temporal!.volumes?.some((v) => v.source?.endsWith('deploy/temporal/dynamicconfig.yaml')),
      'dynamic config file is mounted',
    );
    assert.match(env('temporal-ui').TEMPORAL_CODEC_ENDPOINT ?? '', /:8888\b/);
    assert.ok(env('temporal-ui').TEMPORAL_CORS_ORIGINS, 'TEMPORAL_CORS_ORIGINS set');
    assert.equal(env('tenure-worker').TEMPORAL_ADDRESS, 'temporal:7233');
    assert.equal(env('tenure-worker').TEMPORAL_NAMESPACE, 'tenure');
    assert.match(env('tenure-worker').DATABASE_URL ?? '', /^postgres:\/\/tenure_worker:[^@]+@postgres:5432\/tenure$/);
    assert.equal(env('tenure-worker').TENURE_MIGRATE, 'off');
    assert.match(env('tenure-migrate').DATABASE_URL ?? '', /^postgres:\/\/tenure:[^@]+@postgres:5432\/tenure$/);
    for (const v of ['AD_URL', 'AD_BIND_DN', 'AD_BIND_PASSWORD', 'AD_BASE_DN', 'SMTP_HOST', 'SMTP_PASSWORD']) {
      assert.ok(v in env('tenure-worker'), `worker receives ${v}`);
    }
    const schemaScript = [
      ...(services['temporal-schema']!.entrypoint ?? []),
      ...(services['temporal-schema']!.command ?? []),
    ].join(' ');
    for (const part of [
      '--plugin postgres12',
      'create',
      'setup-schema -v 0.0',
      'update-schema',
      '/etc/temporal/schema/postgresql/v12/temporal/versioned',
      '/etc/temporal/schema/postgresql/v12/visibility/versioned',
    ]) {
      assert.ok(schemaScript.includes(part), `schema job runs ${part}`);
    }
  });

  await t.test('the setup job registers all eight search attributes', () => {
    const setup = services['temporal-setup']!;
    assert.ok(
      setup.volumes?.some((v) => v.source === SETUP_SCRIPT && v.target === '/scripts/setup.sh'),
      'deploy/temporal/setup.sh is mounted into temporal-setup',
    );
    assert.ok(setup.entrypoint?.includes('/scripts/setup.sh'), 'temporal-setup runs the script');
    const script = readFileSync(SETUP_SCRIPT, 'utf8');
    for (const sa of SEARCH_ATTRIBUTES) assert.match(script, new RegExp(`\\b${sa}\\b`), `setup.sh registers ${sa}`);
    assert.match(script, /temporal operator search-attribute create/);
    assert.match(script, /temporal operator cluster health/);
    assert.match(script, /temporal operator namespace create/);
    assert.equal(setup.environment?.TEMPORAL_NAMESPACE, 'tenure');
    assert.equal(setup.environment?.TEMPORAL_RETENTION, '720h', '30 days retention');
  });

  await t.test('the password comes from the environment', () => {
    assert.ok(r.stdout.includes(TEST_PASSWORD), 'POSTGRES_PASSWORD is interpolated');
  });
});

test('docker-compose.yml refuses to render without POSTGRES_PASSWORD', { skip: skipReason }, () => {
  const r = composeConfig({});
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /POSTGRES_PASSWORD/);
});

test('docker-compose.yml contains no literal secret values', () => {
  // Runs without docker: it reads the file itself.
  const raw = readFileSync(COMPOSE_FILE, 'utf8');
  const doc = parseYaml(raw) as { services: Record<string, { environment?: Record<string, unknown> | string[] }> };
  const secretName = /PASSWORD|PWD|SECRET|TOKEN|API_KEY|PRIVATE_KEY(?!_FILE)/;
  // ${VAR}, ${VAR:-} or ${VAR:?message}: no default value that could be a secret.
  const interpolatedWithoutDefault = /^\$\{[A-Z0-9_]+(:?\?[^}]*|:-)?\}$/;
  for (const [name, svc] of Object.entries(doc.services)) {
    const env = Array.isArray(svc.environment)
      ? Object.fromEntries(svc.environment.map((e) => [e.split('=')[0], e.split('=').slice(1).join('=')]))
      : (svc.environment ?? {});
    for (const [key, value] of Object.entries(env)) {
      const v = String(value ?? '');
      // Boolean flags such as TEMPORAL_CODEC_PASS_ACCESS_TOKEN are not secrets.
      if (secretName.test(key) && !/^(true|false)$/.test(v)) {
        assert.match(v, interpolatedWithoutDefault, `${name}.${key} must come from the environment without a default`);
      }
      // Credentials inside URLs (user:password@host) must be interpolated as well. Mask the
      // interpolations first (their messages may contain ':' or spaces), then look at userinfo.
      const interpolations: string[] = [];
      const masked = v.replace(/\$\{[^}]*\}/g, (m) => `⟨${interpolations.push(m) - 1}⟩`);
      const userinfo = /:\/\/([^@/\s]*)@/.exec(masked)?.[1];
      if (userinfo?.includes(':')) {
        const password = userinfo.slice(userinfo.indexOf(':') + 1);
        const token = /^⟨(\d+)⟩$/.exec(password);
        assert.ok(token, `${name}.${key} embeds a literal password in a URL`);
        assert.match(
          interpolations[Number(token[1])]!,
          interpolatedWithoutDefault,
          `${name}.${key}: URL password has a default`,
        );
      }
    }
  }
  // Default passwords of the upstream samples, in case someone pastes them back in.
  assert.doesNotMatch(raw, /POSTGRES_(PASSWORD|PWD):\s*['"]?temporal['"]?\s*$/m);
});

test('docker-compose.yml: encryption and the codec server are wired, the UI is read-only by default', () => {
  // Runs without docker: it reads the file itself.
  const doc = parseYaml(readFileSync(COMPOSE_FILE, 'utf8')) as {
    services: Record<string, { environment?: Record<string, string>; command?: string[]; ports?: string[] }>;
  };
  const worker = doc.services['tenure-worker']!.environment ?? {};
  for (const v of [
    'TENURE_ENCRYPTION_KEYS',
    'TENURE_ENCRYPTION_KEYS_FILE',
    'TENURE_ENCRYPTION_KEY_ID',
    'TENURE_PAYLOADS_PLAINTEXT',
    'TENURE_RULES_FILE',
    'TENURE_CONFIG_FILE',
  ])
    assert.ok(v in worker, `worker receives ${v}`);
  assert.equal(worker.TENURE_PAYLOADS_PLAINTEXT, '${TENURE_PAYLOADS_PLAINTEXT:-}', 'plaintext is never the default');
  // Every connector secret .env.example lists reaches the worker.
  const example = readFileSync(join(ROOT, '.env.example'), 'utf8');
  const secrets = [
    ...example.matchAll(/^([A-Z][A-Z0-9_]*(?:SECRET|TOKEN|API_KEY|APP_PASSWORD|CLIENT_ID|TENANT_ID))=/gm),
  ].map((m) => m[1]!);
  assert.ok(secrets.length >= 8, secrets.join(', '));
  for (const v of secrets) assert.ok(v in worker, `worker receives ${v} (listed in .env.example)`);

  const codec = doc.services['tenure-codec'];
  assert.ok(codec, 'a codec-server service');
  assert.ok(codec.command?.join(' ').includes('workers/codec-server.ts'));
  assert.ok('TENURE_ENCRYPTION_KEYS' in (codec.environment ?? {}));
  assert.ok(
    codec.ports?.every((p) => p.startsWith('127.0.0.1:')),
    'codec server published on loopback only',
  );
  const ui = doc.services['temporal-ui']!.environment ?? {};
  assert.match(ui.TEMPORAL_DISABLE_WRITE_ACTIONS ?? '', /:-true\}$/, 'write actions off unless configured');
  assert.match(ui.TEMPORAL_CODEC_ENDPOINT ?? '', /:8888\b/);
});

test('docker-compose.yml: the worker connects as the restricted role and does not migrate', () => {
  const doc = parseYaml(readFileSync(COMPOSE_FILE, 'utf8')) as {
    services: Record<string, { environment?: Record<string, string>; command?: string[] }>;
  };
  const worker = doc.services['tenure-worker']!.environment ?? {};
  assert.match(worker.DATABASE_URL ?? '', /^postgres:\/\/\$\{TENURE_WORKER_DB_USER:-tenure_worker\}:/);
  assert.doesNotMatch(worker.DATABASE_URL ?? '', /POSTGRES_PASSWORD/, 'never the superuser password');
  assert.equal(worker.TENURE_MIGRATE, 'off');
  const migrate = doc.services['tenure-migrate']!;
  assert.ok(migrate.command?.join(' ').includes('vault/migrate.ts'));
  assert.ok('TENURE_WORKER_DB_PASSWORD' in (migrate.environment ?? {}));
});
