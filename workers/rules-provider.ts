/**
 * The rules a worker plans with: the version in force in the vault (`tenure rules apply`), else the
 * worker's own rules file. Every call checks which version is current (one indexed row), and parses
 * a version once per hash, so a new version reaches every worker with its very next plan, no restart.
 */
import type pg from 'pg';
import { parseRules, type Rules } from '../domain/rules.js';
import { currentRulesHash, DEFAULT_RULES_SET, rulesVersionById } from '../vault/rules-versions.js';

export interface RulesProvider {
  /** The rules in force now. */
  current(): Promise<Rules>;
  /** The rules the worker started with (its targets are the connectors it runs). */
  readonly startup: Rules;
}

export function createRulesProvider(opts: {
  pool: Pick<pg.Pool, 'query'>;
  fileRules: Rules;
  rulesSet?: string;
  log?: (line: string) => void;
}): RulesProvider {
  const rulesSet = opts.rulesSet ?? DEFAULT_RULES_SET;
  const parsed = new Map<string, Rules>();
  let lastId: number | undefined;
  return {
    startup: opts.fileRules,
    async current() {
      const head = await currentRulesHash(opts.pool, rulesSet);
      if (!head) return opts.fileRules;
      let rules = parsed.get(head.sha256);
      if (!rules) {
        const v = await rulesVersionById(opts.pool, head.id);
        if (!v) return opts.fileRules; // superseded between the two reads: the next call sees the new one
        rules = parseRules(v.text, v.fileName);
        parsed.clear(); // only the version in force is kept
        parsed.set(head.sha256, rules);
      }
      if (lastId !== head.id) {
        lastId = head.id;
        opts.log?.(`[rules] now planning with rules version ${head.version} (#${head.id})`);
      }
      return rules;
    },
  };
}
