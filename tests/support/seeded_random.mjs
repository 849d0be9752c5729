// mulberry32: a small seeded generator for tests and benchmarks, so a failing run (a crash loop,
// a shuffled order) can be replayed exactly from its seed. Returns numbers in [0, 1).
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// A copy of `list` in an order drawn from `random` (Fisher-Yates): benchmarks run their
// contestants in a fresh shuffled order each round, so none always runs first or last.
export function shuffled(list, random) {
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
