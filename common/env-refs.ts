/**
 * `<name>Env: VARIABLE` options (the sources config file, and the rules file's target options):
 * each is replaced by `<name>: <value of VARIABLE>`; a missing or empty variable is an error naming
 * the variable (never a value), and an inline secret (`clientSecret: ...`) is refused.
 */

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Option names that hold secrets: only ever given through `<name>Env`. */
const SECRET_KEY = /(secret|password|passwd|passphrase|token|apikey|api_key|credential|privatekey)$/i;

export interface Resolved {
  options: Record<string, unknown>;
  secretPaths: string[];
  secretValues: string[];
  envRefs: Record<string, string>;
}

/**
 * Replace every `<name>Env: VARIABLE` in `options` (any depth) by `<name>: <value of VARIABLE>`;
 * report missing variables and inline secrets at their key.
 */
export function resolveEnvRefs(
  options: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  report: (path: PropertyKey[], message: string) => void,
  basePath: PropertyKey[],
): Resolved {
  const secretPaths: string[] = [];
  const secretValues: string[] = [];
  const envRefs: Record<string, string> = {};
  const walk = (value: unknown, path: PropertyKey[], shown: string): unknown => {
    if (Array.isArray(value)) return value.map((v, i) => walk(v, [...path, i], `${shown}[${i}]`));
    if (!value || typeof value !== 'object') return value;
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      const here = [...path, key];
      const m = /^(.+)Env$/.exec(key);
      if (m) {
        const target = m[1] as string;
        const targetShown = shown ? `${shown}.${target}` : target;
        if (typeof v !== 'string' || !ENV_NAME.test(v)) {
          report([...basePath, ...here], 'expected the NAME of an environment variable, e.g. RAET_CLIENT_SECRET');
          continue;
        }
        if (target in (value as Record<string, unknown>)) {
          report([...basePath, ...here], `give either ${target} or ${key}, not both`);
          continue;
        }
        const resolved = env[v];
        if (resolved === undefined) {
          report([...basePath, ...here], `environment variable ${v} is not set`);
          continue;
        }
        if (resolved === '') {
          report([...basePath, ...here], `environment variable ${v} is empty`);
          continue;
        }
        out[target] = resolved;
        envRefs[targetShown] = v;
        secretPaths.push(targetShown);
        secretValues.push(resolved);
        continue;
      }
      if (SECRET_KEY.test(key) && (typeof v === 'string' || typeof v === 'number')) {
        report(
          [...basePath, ...here],
          `secrets are not written in the config file: name an environment variable with ${key}Env instead`,
        );
        continue;
      }
      out[key] = walk(v, here, shown ? `${shown}.${key}` : key);
    }
    return out;
  };
  const resolved = walk(options, [], '') as Record<string, unknown>;
  return { options: resolved, secretPaths, secretValues, envRefs };
}
