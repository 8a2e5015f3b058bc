/** Runs `load` now and every `everyMs` while mounted (and again when `deps` change), keeping the latest answer or error. */
import { useEffect, useState } from 'react';

export interface Polled<T> {
  readonly data: T | undefined;
  readonly error: string | undefined;
}

export function usePoll<T>(load: (signal: AbortSignal) => Promise<T>, everyMs: number, deps: readonly unknown[], onError?: (err: unknown) => void): Polled<T> {
  const [state, setState] = useState<Polled<T>>({ data: undefined, error: undefined });
  useEffect(() => {
    const ctl = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const data = await load(ctl.signal);
        if (!ctl.signal.aborted) setState({ data, error: undefined });
      } catch (err) {
        if (ctl.signal.aborted) return;
        onError?.(err);
        setState((s) => ({ data: s.data, error: err instanceof Error ? err.message : String(err) }));
      }
      if (!ctl.signal.aborted) timer = setTimeout(() => void tick(), everyMs);
    };
    void tick();
    return () => {
      ctl.abort();
      clearTimeout(timer);
    };
  }, deps);
  return state;
}
