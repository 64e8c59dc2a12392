// The local outbox of `rebound dev`: with no Slack token or SMTP server configured, notifications are
// written to a file under the data directory (and shown in the console, marked "not sent") instead of
// failing every notify step. `rebound worker` never uses it: there a missing channel fails loudly.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface OutboxEntry {
  at: string;
  channel: 'slack' | 'email';
  kind: 'notify' | 'incident-message';
  to?: string | string[];
  subject?: string;
  text: string;
  incidentId: string;
  stepId?: string;
  link?: string;
}

export function outboxFile(dataDir: string): string {
  return path.resolve(dataDir, 'outbox.jsonl');
}

/** Appends one message; returns its number in the file, which becomes the message id. */
export function writeOutbox(file: string, entry: OutboxEntry): string {
  mkdirSync(path.dirname(file), { recursive: true });
  appendFileSync(file, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
  return `outbox:${entry.at}`;
}

/** The newest entries first; lines that do not parse are skipped. */
export function readOutbox(file: string, limit = 200): OutboxEntry[] {
  if (!existsSync(file)) return [];
  const out: OutboxEntry[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as OutboxEntry);
    } catch {
      // A line cut short by a crash: the rest are still worth showing.
    }
  }
  return out.reverse().slice(0, limit);
}
