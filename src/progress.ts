// Progress of long CLI work ("replayed 12 of 40") on an interactive terminal: one line on stderr,
// rewritten in place, at most a few times a second. In a pipe or a file it prints nothing, so
// scripts and logs see only the command's real output.
import { escapeControls } from './terminal-text';

export interface Progress {
  /** `done` of the total finished; `detail` names the item (shortened to fit). */
  update(done: number, detail?: string): void;
  /** Clears the line. */
  end(): void;
}

const QUIET: Progress = { update: () => undefined, end: () => undefined };

export function terminalProgress(
  label: string,
  total: number,
  stream: NodeJS.WriteStream = process.stderr,
): Progress {
  if (!stream.isTTY || total <= 0) return QUIET;
  let lastAt = 0;
  let shown = false;
  const started = Date.now();
  return {
    update(done, detail) {
      const now = Date.now();
      if (now - lastAt < 100 && done < total) return;
      lastAt = now;
      const seconds = Math.round((now - started) / 1000);
      const head = `${label} ${done} of ${total} (${seconds} s)`;
      const room = Math.max(0, (stream.columns || 80) - head.length - 3);
      const tail = detail && room > 10 ? `: ${escapeControls(detail).slice(-room)}` : '';
      stream.write(`\r\x1b[K${head}${tail}`);
      shown = true;
    },
    end() {
      if (shown) stream.write('\r\x1b[K');
      shown = false;
    },
  };
}
