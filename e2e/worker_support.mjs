// worker_support.mjs: shared by the browser workers of e2e/ and bench/. Loads the wasm module
// once (compileStreaming) and hands out fresh instances, and answers the page's RPC calls.
import createTillsyncModule from '/build-wasm/tillsync.mjs';

export function moduleFactory() {
  const compiled = WebAssembly.compileStreaming(fetch('/build-wasm/tillsync.wasm'));
  return async () => {
    const wasmModule = await compiled;
    return createTillsyncModule({
      instantiateWasm(imports, receiveInstance) {
        WebAssembly.instantiate(wasmModule, imports).then((instance) => receiveInstance(instance, wasmModule));
        return {};
      },
    });
  };
}

// An OPFS directory (nested path under the origin's root), created if missing.
export async function opfsDirectory(path) {
  let dir = await navigator.storage.getDirectory();
  for (const part of path.split('/').filter(Boolean)) dir = await dir.getDirectoryHandle(part, { create: true });
  return dir;
}

export async function removeOpfsEntry(parentPath, name) {
  const parent = await opfsDirectory(parentPath);
  try {
    await parent.removeEntry(name, { recursive: true });
  } catch (e) {
    if (e.name !== 'NotFoundError') throw e;
  }
}

// Serves {id, method, arg} messages with `methods[method](arg)`; replies {id, result}.
// A throw becomes {ok: false, error} so the driver reports it instead of hanging.
export function serve(methods, init) {
  self.onmessage = async (e) => {
    const { id, method, arg } = e.data;
    let result;
    try {
      if (!methods[method]) throw new Error(`no such method: ${method}`);
      result = await methods[method](arg);
    } catch (err) {
      result = { ok: false, error: `${err.name}: ${err.message}\n${err.stack || ''}` };
    }
    self.postMessage({ id, result });
  };
  Promise.resolve()
    .then(init)
    .then(() => self.postMessage({ ready: true }))
    .catch((err) => self.postMessage({ initError: `${err.name}: ${err.message}` }));
}
