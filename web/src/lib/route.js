// Hash routes (#/sell, #/receipt/ORDER): they survive a reload, work offline with one cached
// index.html, and the browser's back button moves between screens.
import { useEffect, useState } from 'preact/hooks';

export function parseRoute(hash = location.hash) {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  return { name: parts[0] || 'sell', args: parts.slice(1) };
}

export function go(name, ...args) {
  location.hash = `#/${[name, ...args].map(encodeURIComponent).join('/')}`;
}

export function useRoute() {
  const [route, setRoute] = useState(parseRoute());
  useEffect(() => {
    const on = () => setRoute(parseRoute());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}
