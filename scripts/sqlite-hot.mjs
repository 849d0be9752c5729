// scripts/sqlite-hot.mjs: writes a copy of the SQLite amalgamation in which every source file
// except the named hot ones has its functions marked minsize, for the wasm build to compile at
// -O2: the hot files get -O2 code, the rest stays about as small as -Oz (CMakeLists.txt,
// TILLSYNC_WASM_SQLITE_HOT; figures in bench/README.md "Session 5: bulk insert").
//   node scripts/sqlite-hot.mjs IN.c OUT.c btree.c,vdbe.c,...
// Only .c sections switch the mark. Headers (sqliteInt.h, vdbeInt.h, ...) are left unmarked
// wherever they appear, because clang merges a declaration's attributes into the later
// definition: a minsize prototype of a hot function would make its -O2 definition minsize too.
// The .c sections of the amalgamation always sit at file scope, outside any #if, so each
// push/pop pair is balanced in every configuration.
import fs from 'node:fs';

const [input, output, hotList] = process.argv.slice(2);
if (!input || !output || !hotList) {
  console.error('usage: node scripts/sqlite-hot.mjs IN.c OUT.c file.c[,file.c...]');
  process.exit(2);
}
const hot = new Set(hotList.split(',').map((s) => s.trim()).filter(Boolean));
const begin = /^\/\*+ Begin file (\S+) \*+\/$/;
const end = /^\/\*+ End of (\S+) \*+\/$/;
const PUSH = '#pragma clang attribute push (__attribute__((minsize)), apply_to = function)';
const POP = '#pragma clang attribute pop';

const lines = fs.readFileSync(input, 'utf8').split('\n');
// A file compiled out in this configuration (os_unix.c, ...) leaves an empty region: not a problem.
const out = ['#pragma clang diagnostic ignored "-Wpragma-clang-attribute"'];
const stack = [];  // the .c files open at this line (the amalgamation does not nest them; a stack anyway)
let marked = false;
const seen = new Set();
const mark = (want) => {
  if (want === marked) return;
  out.push(want ? PUSH : POP);
  marked = want;
};
for (const line of lines) {
  let m = begin.exec(line);
  if (m && m[1].endsWith('.c')) {
    stack.push(m[1]);
    seen.add(m[1]);
    mark(!hot.has(m[1]));
    out.push(line);
    continue;
  }
  m = end.exec(line);
  if (m && m[1].endsWith('.c')) {
    out.push(line);
    stack.pop();
    mark(stack.length > 0 && !hot.has(stack[stack.length - 1]));
    continue;
  }
  out.push(line);
}
mark(false);
const missing = [...hot].filter((f) => !seen.has(f));
if (missing.length) {
  console.error(`sqlite-hot: not in the amalgamation: ${missing.join(', ')}`);
  process.exit(1);
}
fs.writeFileSync(output, out.join('\n'));
