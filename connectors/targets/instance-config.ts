/**
 * A target instance's connector configuration (docs/rules.md, "Target instances"): the rules
 * file's `targets[].options` over the kind's environment variables. Two AD domains, or two Spend
 * Cloud tenants, are two targets of one kind, each with its own options and its own env-named
 * secrets (`bindPasswordEnv: AD2_BIND_PASSWORD`).
 *
 * A target whose options give no connector setting is configured from the environment alone, as
 * before instances existed. Otherwise the options override the environment's values key by key
 * (nested objects merged), and the result is validated by the kind's own schema; every problem
 * names the target and the option, never a value.
 */
import type { z } from 'zod';
import { resolveEnvRefs } from '../../common/env-refs.js';

/** Options the engine reads itself, not the connector (ownership, attribute mapping). */
export const ENGINE_OPTION_KEYS = ['ownership', 'attributes', 'dayOnePassword'] as const;

/** Never set from a file: the test-only switch comes from TENURE_ALLOW_INSECURE_TRANSPORT, the id from `targets[].id`. */
const FORBIDDEN_KEYS = new Set(['allowInsecureTransport', 'id']);

export interface KindConfigSource<C> {
  /** Environment prefix, for messages: `AD_*`. */
  env: string;
  /** The kind's configuration input from the environment (unvalidated). */
  inputFromEnv(env: NodeJS.ProcessEnv): Record<string, unknown>;
  /** Validates a configuration input; throws with paths and messages only. */
  parse(input: unknown): C;
}

/** A kind's `parse` from its zod schema: paths and messages, never values. */
export function parseWith<S extends z.ZodType>(schema: S, what: string): (input: unknown) => z.output<S> {
  return (input) => {
    const parsed = schema.safeParse(input);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
      throw new Error(`invalid ${what} configuration: ${problems.join('; ')}`);
    }
    return parsed.data;
  };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `over` on top of `base`: plain objects merged key by key, everything else replaced. */
export function mergeOptions(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? mergeOptions(out[k] as Record<string, unknown>, v) : v;
  }
  return out;
}

/** The connector settings among a target's options (the engine's own keys left out). */
export function connectorOptions(options: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options ?? {}))
    if (!(ENGINE_OPTION_KEYS as readonly string[]).includes(k)) out[k] = v;
  return out;
}

/** The configuration of one target instance; throws naming the target and the option. */
export function instanceConfig<C>(
  target: { id: string; kind: string; options?: Record<string, unknown> | undefined },
  kind: KindConfigSource<C>,
  env: NodeJS.ProcessEnv,
): C {
  const own = connectorOptions(target.options);
  const fromEnv = kind.inputFromEnv(env);
  if (Object.keys(own).length === 0) {
    try {
      return kind.parse(fromEnv);
    } catch (err) {
      throw new Error(
        `target '${target.id}' (${kind.env} variables): ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  const problems: string[] = [];
  const at = (path: readonly PropertyKey[]) => `options.${path.map(String).join('.')}`;
  const known = new Set(Object.keys(kind.inputFromEnv({})));
  for (const key of Object.keys(own)) {
    const base = key.replace(/Env$/, '');
    if (FORBIDDEN_KEYS.has(base)) problems.push(`${at([key])}: not a target option`);
    else if (!known.has(base))
      problems.push(
        `${at([key])}: unknown option for a ${target.kind} target (options: ${[...known].filter((k) => !FORBIDDEN_KEYS.has(k)).join(', ')}, ${ENGINE_OPTION_KEYS.join(', ')})`,
      );
  }
  const resolved = resolveEnvRefs(own, env, (path, message) => problems.push(`${at(path)}: ${message}`), []);
  if (problems.length) throw new Error(`target '${target.id}': ${problems.join('; ')}`);
  try {
    return kind.parse(mergeOptions(fromEnv, resolved.options));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // The kind's message names paths only; a resolved secret is shown by its variable, not its value.
    let safe = message;
    for (const v of resolved.secretValues) safe = safe.split(v).join('***');
    throw new Error(`target '${target.id}' (options over ${kind.env}): ${safe}`);
  }
}
