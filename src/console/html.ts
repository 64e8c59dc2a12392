// A tagged template for server-rendered HTML: every interpolated value is escaped unless it is
// already markup built by this template, so a label or comment can never become markup by mistake.
import { escapeHtml } from '../html-escape';

/** Markup that is already safe: built by `html` or from escaped parts. */
export class Markup {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** Trusted markup from a renderer that escapes on its own (the audit renderer). */
export function trusted(text: string): Markup {
  return new Markup(text);
}

function part(value: unknown): string {
  if (value === undefined || value === null || value === false) return '';
  if (value instanceof Markup) return value.text;
  if (Array.isArray(value)) return value.map(part).join('');
  // Numbers and booleans; objects never reach a page without being turned into text first.
  return escapeHtml(typeof value === 'string' ? value : JSON.stringify(value));
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Markup {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += part(value) + (strings[i + 1] ?? '');
  });
  return new Markup(out);
}
