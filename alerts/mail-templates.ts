/**
 * Mail texts as editable files: templates/mail/<language>/<name>.txt (Mustache). The first line
 * is the subject, the rest (after one blank line) the plain-text body. A mail is rendered in each
 * configured language, in order, and the parts joined: subjects with " / ", bodies with a rule.
 * The HTML part is made from the rendered text, every character escaped; an indented
 * `  Name: value` line becomes a table row with the value in bold.
 *
 * TENURE_TEMPLATES_DIR points to a copy of templates/mail with edited texts; a file missing there
 * falls back to the shipped one. TENURE_MAIL_LANGUAGES sets the languages (default `nl,en`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Mustache from 'mustache';
import { z } from 'zod';

export const SHIPPED_TEMPLATES_DIR = fileURLToPath(new URL('../templates/mail/', import.meta.url));
export const TEMPLATE_NAMES = [
  'accountReady',
  'leaverDisabled',
  'dayOnePassword',
  'pollHeld',
  'personFailing',
  'writebackFailing',
  'alertDigest',
] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];
export const SHIPPED_LANGUAGES = ['nl', 'en'] as const;
export type Language = string;

const LanguageList = z
  .string()
  .trim()
  .regex(/^[a-z]{2}(-[A-Z]{2})?(\s*,\s*[a-z]{2}(-[A-Z]{2})?)*$/, 'a comma-separated list of language codes like nl,en')
  .transform((s) => s.split(',').map((l) => l.trim()));

export interface TemplateSettings {
  dir?: string;
  languages: Language[];
}

export function templateSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): TemplateSettings {
  const langs = LanguageList.safeParse(env.TENURE_MAIL_LANGUAGES?.trim() || 'nl,en');
  if (!langs.success) throw new Error(`TENURE_MAIL_LANGUAGES: ${langs.error.issues[0]?.message}`);
  const dir = env.TENURE_TEMPLATES_DIR?.trim() || undefined;
  return { languages: langs.data, ...(dir ? { dir } : {}) };
}

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

/** A view per language (dates and numbers are formatted for it). */
export type ViewFor = (language: Language) => Record<string, unknown>;

const noEscape = (s: string) => s;

export class MailTemplates {
  readonly #cache = new Map<string, { subject: string; body: string }>();
  constructor(readonly settings: TemplateSettings = { languages: [...SHIPPED_LANGUAGES] }) {
    // Fail at start-up, not at the first mail: every template must exist in every language.
    for (const name of TEMPLATE_NAMES) for (const lang of settings.languages) this.#load(name, lang);
  }

  #path(name: TemplateName, lang: Language): string {
    if (!/^[a-z]{2}(-[A-Z]{2})?$/.test(lang)) throw new Error(`bad language code ${JSON.stringify(lang)}`);
    const own = this.settings.dir ? `${this.settings.dir.replace(/\/$/, '')}/${lang}/${name}.txt` : undefined;
    if (own && existsSync(own)) return own;
    const shipped = `${SHIPPED_TEMPLATES_DIR}${lang}/${name}.txt`;
    if (existsSync(shipped)) return shipped;
    throw new Error(`mail template ${name} has no ${lang} version (${own ?? shipped})`);
  }

  #load(name: TemplateName, lang: Language): { subject: string; body: string } {
    const key = `${lang}/${name}`;
    const cached = this.#cache.get(key);
    if (cached) return cached;
    const path = this.#path(name, lang);
    const source = readFileSync(path, 'utf8').replace(/\r\n/g, '\n');
    const newline = source.indexOf('\n');
    const subject = newline < 0 ? source : source.slice(0, newline);
    const body = newline < 0 ? '' : source.slice(newline + 1).replace(/^\n/, '');
    if (!subject.trim()) throw new Error(`mail template ${path}: the first line (the subject) is empty`);
    Mustache.parse(subject); // throws on a syntax error, naming the tag
    Mustache.parse(body);
    const template = { subject, body };
    this.#cache.set(key, template);
    return template;
  }

  render(name: TemplateName, view: ViewFor): RenderedMail {
    const parts = this.settings.languages.map((lang) => {
      const t = this.#load(name, lang);
      const v = view(lang);
      const subject = Mustache.render(t.subject, v, {}, { escape: noEscape })
        .replace(/[\r\n]+/g, ' ')
        .trim();
      const text = Mustache.render(t.body, v, {}, { escape: noEscape })
        .replace(/[ \t]+\n/g, '\n')
        .replace(/\n{3,}/g, '\n\n')
        .trim();
      return { lang, subject, text };
    });
    return {
      subject: [...new Set(parts.map((p) => p.subject))].join(' / '),
      text: `${parts.map((p) => p.text).join('\n\n----------------------------------------\n\n')}\n`,
      html:
        '<!doctype html><html><head><meta charset="utf-8"></head><body style="font-family: sans-serif">' +
        parts.map((p) => htmlOf(p.text, p.lang)).join('<hr>') +
        '</body></html>',
    };
  }
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const FACT = /^ {2}(?!- )([^:\n]{1,60}): (.+)$/;

function htmlOf(text: string, lang: string): string {
  const blocks = text.split(/\n{2,}/).map((block) => {
    const lines = block.split('\n');
    if (lines.every((l) => FACT.test(l))) {
      const rows = lines.map((l) => {
        const [, k, v] = FACT.exec(l) as unknown as [string, string, string];
        return `<tr><td>${escapeHtml(k)}</td><td><strong>${escapeHtml(v)}</strong></td></tr>`;
      });
      return `<table>${rows.join('')}</table>`;
    }
    return `<p>${lines.map((l) => escapeHtml(l.replace(/^ {2}/, ''))).join('<br>')}</p>`;
  });
  return `<div lang="${escapeHtml(lang)}">${blocks.join('')}</div>`;
}
