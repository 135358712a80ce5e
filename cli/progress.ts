/**
 * Progress for long commands: a bar redrawn in place on a terminal, plain lines (at every tenth
 * and at the end) when the output is piped or logged, so files never fill with redraws.
 */
import type { Out } from './commands/common.js';

export interface Progress {
  update(done: number, total: number, note?: string): void;
  /** Ends the bar's line (terminal) or prints the last line (piped). */
  finish(done: number, total: number, note?: string): void;
}

export function createProgress(label: string, opts: { out: Out; tty?: NodeJS.WriteStream }): Progress {
  if (opts.tty) {
    const tty = opts.tty;
    let drawn = false;
    const draw = (done: number, total: number, note?: string) => {
      const width = 30;
      const share = total > 0 ? Math.min(1, done / total) : 0;
      const filled = Math.round(share * width);
      const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
      const text = `${label} [${bar}] ${done}/${total} ${Math.floor(share * 100)}%${note ? `  ${note}` : ''}`;
      tty.write(`\r${text.slice(0, Math.max(20, (tty.columns || 100) - 1))}\u001b[K`);
      drawn = true;
    };
    return {
      update: draw,
      finish(done, total, note) {
        draw(done, total, note);
        if (drawn) tty.write('\n');
      },
    };
  }
  let lastTenth = -1;
  return {
    update(done, total, note) {
      const tenth = total > 0 ? Math.floor((10 * done) / total) : 0;
      if (tenth === lastTenth) return;
      lastTenth = tenth;
      opts.out(`${label}: ${done}/${total}${note ? ` (${note})` : ''}`);
    },
    finish(done, total, note) {
      opts.out(`${label}: ${done}/${total} done${note ? ` (${note})` : ''}`);
    },
  };
}
