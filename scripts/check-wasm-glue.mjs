// Checks that an Emscripten glue script (the bundled dist/worker.js) and a .wasm come from the
// same link: their import names are minified per link, and a mismatch only shows as a LinkError
// when a browser loads them. Usage: node scripts/check-wasm-glue.mjs GLUE.js MODULE.wasm
import fs from 'node:fs';

const [glueFile, wasmFile] = process.argv.slice(2);
const glue = fs.readFileSync(glueFile, 'utf8');
const imports = WebAssembly.Module.imports(new WebAssembly.Module(fs.readFileSync(wasmFile)));
const table = /asmLibraryArg = \{([^}]*)\}/.exec(glue);
const provided = new Set(table ? [...table[1].matchAll(/"([^"]+)"\s*:/g)].map((m) => m[1]) : []);
const missing = imports.filter((i) => i.kind === 'function' && !provided.has(i.name)).map((i) => i.name);
if (!table || missing.length) {
  console.error(`check-wasm-glue: ${glueFile} does not match ${wasmFile} (imports not provided: ${missing.join(' ') || '(no import table found)'}); rebuild build-wasm`);
  process.exit(1);
}
