/** Settings the test suite gets from scripts/test.sh (which starts the servers); clear errors when missing. */
export function requireEnv(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the tests with scripts/test.sh (it starts the servers)`);
  return v;
}

export const temporalCliPath = () => requireEnv('TEMPORAL_CLI');
export const databaseUrl = () => requireEnv('DATABASE_URL');

/** A short random suffix to keep test data apart on shared servers. */
export function uniqueSuffix(): string {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}
