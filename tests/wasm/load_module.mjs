// load_module.mjs: loads the wasm build (build-wasm/tillsync.mjs + tillsync.wasm) under Node.
//
// Emscripten 3.1.6 trap: the module is built for web,worker only (the node environment breaks
// in an ES module), so Node hands it the compiled wasm itself through instantiateWasm. Compiling
// once and instantiating per call also makes a "reload" (a fresh instance) cheap in tests.
import { readFile, access } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const repoRoot = new URL('../../', import.meta.url);

export function wasmBuildDir() {
  const dir = process.env.TILLSYNC_WASM_DIR
    ? pathToFileURL(path.resolve(process.env.TILLSYNC_WASM_DIR) + '/')
    : new URL('build-wasm/', repoRoot);
  return dir;
}

// Returns an async function that makes a fresh module instance each time it is called.
export async function moduleFactory() {
  const dir = wasmBuildDir();
  const mjs = new URL('tillsync.mjs', dir);
  try {
    await access(mjs);
  } catch {
    throw new Error(`${mjs.pathname} not found: build the wasm module first ` +
      '(NODE_PATH=/usr/share/nodejs emcmake cmake -S . -B build-wasm -DCMAKE_BUILD_TYPE=Release && cmake --build build-wasm)');
  }
  const { default: createTillsyncModule } = await import(mjs.href);
  const compiled = await WebAssembly.compile(await readFile(new URL('tillsync.wasm', dir)));
  return () => createTillsyncModule({
    instantiateWasm(imports, receiveInstance) {
      WebAssembly.instantiate(compiled, imports).then((instance) => receiveInstance(instance, compiled));
      return {}; // exports arrive through receiveInstance
    },
  });
}
