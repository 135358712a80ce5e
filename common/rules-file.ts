/**
 * Loads the rules file from disk. Lives in common/, not next to `domain/rules.ts`: it uses node:fs, which
 * Temporal workflow code (bundled by webpack) must never import: only activities, the worker and
 * the CLI use this module.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseRules, type Rules } from '../domain/rules.js';

/**
 * Reads and validates a rules file (YAML or JSON). Throws `RulesError` with
 * `file:line:column: path: message` lines; errors name the file by its base name.
 */
export async function loadRulesFile(path: string): Promise<Rules> {
  const text = await readFile(path, 'utf8');
  return parseRules(text, basename(path));
}
