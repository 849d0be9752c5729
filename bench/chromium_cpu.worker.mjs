// Worker side of bench/chromium_cpu.mjs (bundled by it with esbuild): the sale loop of
// bench/cpu_workload.mjs in a dedicated worker of a cross-origin isolated page. The module is
// compiled from its fetched bytes with WebAssembly.compile, as bench/wasm_cpu.mjs does in Node
// (or with compileStreaming, as e2e/worker_support.mjs does, when asked), and every side gets its
// own instance. With crowd N, N more engines join the loop (on the fake, or with crowdOpfs on real
// OPFS). With realOpfs, an engine
// on real OPFS joins the loop, so the fake's figures can be read beside those of the disk in the
// same worker. Returns figures; prints nothing.
import schemaSql from '../schema/migrations/001_initial.sql';
import { opfsDirectory, removeOpfsEntry, serve } from '../e2e/worker_support.mjs';
import { CpuDirectory, makeSide, runSales } from './cpu_workload.mjs';

const BASE = 'tillsync-chromium-cpu';

// The raw floor of bench/browser.worker.mjs: per sale, the bytes the engine on real OPFS wrote
// per sale so far (its pool's count), in ONE bare access-handle write and one flush.
async function rawSide(model) {
  await removeOpfsEntry(BASE, 'raw');
  const dir = await opfsDirectory(`${BASE}/raw`);
  const h = await (await dir.getFileHandle('raw.bin', { create: true })).createSyncAccessHandle();
  const buf = new Uint8Array(1 << 20).fill(7);
  model.M.resetOpfsPoolStats();
  let at = 0;
  const clock = { io: 0 };
  return { name: 'raw', clock, close: () => h.close(), sale: (i) => {
    const size = Math.min(buf.length, Math.max(1, Math.round(model.M.opfsPoolStats().bytesWritten / Math.max(1, i))));
    const t = performance.now();
    h.write(buf.subarray(0, size), { at });
    h.flush();
    clock.io += performance.now() - t;
    at = (at + size) % (8 << 20);  // append like a WAL, wrapping at 8 MiB
  } };
}

serve({
  async run({ sales, glueUrl, wasmUrl, streaming = false, realOpfs = false, crowd = 0, crowdOpfs = false, floor = false }) {
    const { default: factory } = await import(glueUrl);
    const compiled = streaming ? await WebAssembly.compileStreaming(fetch(wasmUrl))
      : await WebAssembly.compile(await (await fetch(wasmUrl)).arrayBuffer());
    const instance = () => factory({
      instantiateWasm(imports, receive) {
        WebAssembly.instantiate(compiled, imports).then((inst) => receive(inst, compiled));
        return {};
      },
    });
    const sides = [
      await makeSide('engine', 'engine', await instance(), new CpuDirectory(), schemaSql),
      await makeSide('sql', 'sql', await instance(), new CpuDirectory(), schemaSql),
    ];
    // crowd: more engines in the same loop, each with its own instance and memory, as
    // bench/browser.mjs interleaves about ten contestants: what that costs each one's sale. With
    // crowdOpfs they write to real OPFS (a flush each per sale), as browser.mjs's contestants do.
    for (let k = 0; k < crowd; k++) {
      let dir = new CpuDirectory();
      if (crowdOpfs) {
        await removeOpfsEntry(BASE, `crowd-${k}`);
        dir = await opfsDirectory(`${BASE}/crowd-${k}`);
      }
      sides.push(await makeSide(`crowd-${k}`, 'engine', await instance(), dir, schemaSql));
    }
    if (realOpfs) {
      await removeOpfsEntry(BASE, 'engine-opfs');
      sides.push(await makeSide('engine-opfs', 'engine', await instance(), await opfsDirectory(`${BASE}/engine-opfs`), schemaSql));
    }
    if (floor) sides.push(await rawSide(sides.find((s) => s.name === 'engine-opfs')));
    const figures = runSales(sides, sales);
    for (const s of sides) s.close();
    if (realOpfs) await removeOpfsEntry(BASE, 'engine-opfs');
    if (floor) await removeOpfsEntry(BASE, 'raw');
    if (crowdOpfs) for (let k = 0; k < crowd; k++) await removeOpfsEntry(BASE, `crowd-${k}`);
    return { ok: true, crossOriginIsolated: self.crossOriginIsolated, userAgent: navigator.userAgent, figures };
  },
}, async () => {});
