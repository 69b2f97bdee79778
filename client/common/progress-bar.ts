/**
 * The progress bars of the `--watch` commands (`ados extract --watch`, `ados runtime status --watch`), drawn by
 * cli-progress: its bar rendering and its terminal redraw (throttled, cursor hidden, one line rewritten in place).
 * The figures beside the bar are ADOS's own (counts from the extraction's progress query; rate and ETA from the task
 * runtime's, the figures the Web UI shows), so the bar's format uses no cli-progress ETA of its own.
 */
import { Format, SingleBar } from 'cli-progress';

/** How a bar looks: its width in cells and the characters of its done and remaining parts. */
export interface BarStyle {
  width: number;
  done: string;
  remaining: string;
}

/** `#` and `-`: plain ASCII, what `ados extract` prints. */
export const ASCII_BAR: BarStyle = { width: 24, done: '#', remaining: '-' };
/** `█` and `░`: what `ados runtime status` prints. */
export const BLOCK_BAR: BarStyle = { width: 30, done: '█', remaining: '░' };

/** The bar for a share done (0 … 1, clamped), without brackets: for one line of text (a pipe, `status`). */
export function barText(share: number, style: BarStyle): string {
  const clamped = Number.isFinite(share) ? Math.min(1, Math.max(0, share)) : 0;
  return Format.BarFormat(clamped, {
    barsize: style.width,
    barCompleteString: style.done.repeat(style.width),
    barIncompleteString: style.remaining.repeat(style.width),
    barGlue: '',
  });
}

/** A bar redrawn in place on a terminal, with a line of ADOS's figures beside it. */
export interface LiveBar {
  update(done: number, total: number, detail: string): void;
  stop(): void;
}

/**
 * A live bar on `stream` (a TTY): `[bar] <prefix>{detail}`, where `showCounts` adds `done/total` after the bar.
 * A total of 0 draws a full bar (nothing left to do).
 */
export function liveBar(stream: NodeJS.WriteStream, style: BarStyle, showCounts: boolean): LiveBar {
  const bar = new SingleBar({
    format: showCounts ? '[{bar}] {value}/{total}  {detail}' : '[{bar}] {detail}',
    barsize: style.width,
    barCompleteChar: style.done,
    barIncompleteChar: style.remaining,
    hideCursor: true,
    stream,
    fps: 10,
  });
  let started = false;
  return {
    update(done, total, detail) {
      if (!started) {
        bar.start(total, done, { detail });
        started = true;
        return;
      }
      bar.setTotal(total);
      bar.update(done, { detail });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
