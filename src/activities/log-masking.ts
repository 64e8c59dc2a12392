// Masks credentials in container log lines before a container.logs step returns them, since what a
// step returns is stored in the incident's history for good. Two layers: every secret value this
// worker knows (REBOUND_SECRET_* and the secrets file) is replaced wherever it appears, and values
// that look like credentials by their shape (`password=…`, `Authorization: Bearer …`, a URL's
// `user:pass@`) are masked whatever they are. Log text is untrusted, so the patterns run on RE2
// (linear time), never on JavaScript's backtracking RegExp.
import { RE2JS } from 're2js';
import { MASK } from '../runbook-lang/secret-refs';

/**
 * Names whose value is a credential when written `name=value`, `name: value` or `"name": "value"`.
 * Not `auth`: `Authorization: Basic …` has its own rule, which keeps the scheme readable.
 */
const CREDENTIAL_KEYS = [
  'pass(?:word|wd|phrase)?',
  'pwd',
  'secret',
  'token',
  'api[_-]?key',
  'apikey',
  'access[_-]?key(?:[_-]?id)?',
  'private[_-]?key',
  'client[_-]?secret',
  'credentials?',
  'session(?:[_-]?id)?',
  'cookie',
].join('|');

const RULES: ReadonlyArray<{ pattern: RE2JS; replacement: string }> = [
  // The scheme stays readable (it says what kind of credential it was); the credential goes.
  {
    pattern: RE2JS.compile(
      `(?i)((?:proxy-)?authorization["']?\\s*[:=]\\s*["']?(?:(?:bearer|basic|digest|token|negotiate|bot)\\s+)?)[^\\s"',;]+`,
    ),
    replacement: `$1${MASK}`,
  },
  { pattern: RE2JS.compile(`(?i)\\b(bearer\\s+)[A-Za-z0-9._~+/=-]{8,}`), replacement: `$1${MASK}` },
  // DB_PASSWORD=…, "client_secret": "…", x-api-key: …: the key may sit inside a longer name.
  {
    pattern: RE2JS.compile(
      `(?i)([A-Za-z0-9_.-]*(?:${CREDENTIAL_KEYS})[A-Za-z0-9_.-]*["']?\\s*[:=]\\s*["']?)[^\\s"',;&]+`,
    ),
    replacement: `$1${MASK}`,
  },
  { pattern: RE2JS.compile(`([A-Za-z][A-Za-z0-9+.-]*://[^/\\s:@]*:)[^@\\s/]+@`), replacement: `$1${MASK}@` },
];

/** Values shorter than this are not scrubbed by value: `on` or `42` would mangle ordinary text. */
export const MIN_SCRUBBED_SECRET_LENGTH = 4;

/**
 * The line with every known secret value and every credential-shaped value masked. `cut` says the
 * line was cut at the length limit: a known secret whose beginning ends the line is masked too.
 */
export function maskLogLine(text: string, secretValues: readonly string[], cut = false): string {
  let out = text;
  // Longest first, so a secret that contains another is masked whole.
  const values = secretValues
    .filter((value) => value.length >= MIN_SCRUBBED_SECRET_LENGTH)
    .sort((a, b) => b.length - a.length);
  for (const value of values) out = out.split(value).join(MASK);
  if (cut) {
    for (const value of values) {
      for (let length = value.length - 1; length >= MIN_SCRUBBED_SECRET_LENGTH; length--) {
        if (out.endsWith(value.slice(0, length))) {
          out = out.slice(0, out.length - length) + MASK;
          break;
        }
      }
    }
  }
  for (const rule of RULES) out = rule.pattern.matcher(out).replaceAll(rule.replacement);
  return out;
}
