// Hooks that tie Preact components to the store: status, progress and live queries. A query
// re-runs when the store reports a change to one of the tables it reads (local writes in any
// tab, or rows pulled from the hub), so every screen shows the database, never a copy that can
// drift from it.
import { useEffect, useRef, useState } from 'preact/hooks';

export function useStatus(store) {
  const [status, setStatus] = useState(null);
  useEffect(() => (store ? store.onStatus(setStatus) : undefined), [store]);
  return status;
}

export function useProgress(store) {
  const [progress, setProgress] = useState(null);
  useEffect(() => {
    if (!store) return undefined;
    let clear = 0;
    const off = store.onProgress((p) => {
      setProgress(p);
      clearTimeout(clear);
      // A finished phase stays on screen briefly, then the bar goes away.
      if (p.done >= p.total) clear = setTimeout(() => setProgress(null), 1500);
    });
    return () => { clearTimeout(clear); off(); };
  }, [store]);
  return progress;
}

/**
 * Runs `sql` now and again whenever one of `tables` changes. Returns {rows, error, loading}.
 * `deps` lists what else the query depends on (parameters).
 */
export function useQuery(store, sql, params, tables, deps = []) {
  const [state, setState] = useState({ rows: [], error: null, loading: true });
  const generation = useRef(0);
  useEffect(() => {
    if (!store) return undefined;
    let alive = true;
    const run = () => {
      // Older answers that arrive late must not overwrite newer ones.
      const mine = ++generation.current;
      store.query(sql, params).then(
        (rows) => { if (alive && mine === generation.current) setState({ rows, error: null, loading: false }); },
        (error) => { if (alive && mine === generation.current) setState((s) => ({ ...s, error, loading: false })); },
      );
    };
    run();
    const off = store.onChange((changed) => {
      if (changed.some((t) => tables.includes(t))) run();
    });
    return () => { alive = false; off(); };
  }, [store, sql, ...deps]);
  return state;
}

/** Re-renders every `ms` (for "synced 2 minutes ago"). */
export function useTick(ms) {
  const [, setN] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setN((n) => n + 1), ms);
    return () => clearInterval(t);
  }, [ms]);
}
