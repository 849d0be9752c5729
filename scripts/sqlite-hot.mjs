// scripts/sqlite-hot.mjs: writes a copy of the SQLite amalgamation in which every source file
// except the named hot ones has its functions marked minsize, for the wasm build to compile at
// -O2: the hot files get -O2 code, the rest stays about as small as -Oz (CMakeLists.txt,
// TILLSYNC_WASM_SQLITE_HOT; figures in bench/README.md "Session 5: bulk insert").
//   node scripts/sqlite-hot.mjs IN.c OUT.c btree.c,vdbe.c,sqlite3VdbeRecordCompareWithSkip,...
// A name ending in .c is a source file (all of it hot); any other name is one function of a cold
// file (its definition and its prototypes left unmarked), for trying hot sets finer than a file.
// Headers (sqliteInt.h, vdbeInt.h, ...) are left unmarked wherever they appear, because clang
// merges a declaration's attributes into the later definition: a minsize prototype of a hot
// function would make its -O2 definition minsize too. The amalgamation places some headers
// INSIDE a .c section (vdbeInt.h inside status.c, wal.h inside pager.c, btreeInt.h inside
// btmutex.c); until session 6 those were marked with their .c file, so vdbe.c's own
// sqlite3VdbeExec (declared in vdbeInt.h) stayed minsize in a "vdbe.c hot" build.
// The .c sections of the amalgamation always sit at file scope, outside any #if, so each
// push/pop pair is balanced in every configuration.
import fs from 'node:fs';

const [input, output, hotList] = process.argv.slice(2);
if (!input || !output || !hotList) {
  console.error('usage: node scripts/sqlite-hot.mjs IN.c OUT.c file.c|function[,file.c|function...]');
  process.exit(2);
}
const names = hotList.split(',').map((s) => s.trim()).filter(Boolean);
const hot = new Set(names.filter((n) => n.endsWith('.c')));  // whole source files
const hotFunctions = new Set(names.filter((n) => !n.endsWith('.c')));  // single functions of cold files
const foundFunctions = new Set();
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
const fileIsCold = () => stack.length > 0 && stack[stack.length - 1].endsWith('.c') && !hot.has(stack[stack.length - 1]);
// A hot function in a cold file: its definition AND every declaration of it in .c sections are
// left unmarked (a minsize prototype would make the definition minsize too). SQLite's style puts
// a function's head at column 0 (`static int name(`, `SQLITE_PRIVATE int name(`), its body's
// closing brace alone on a line at column 0, and its calls indented, so a column-0 line naming
// it opens its region: until the first ';' (a prototype) or the '{' ... '}' of its body.
const fnHead = new RegExp(`^[A-Za-z_].*[^A-Za-z0-9_](${[...hotFunctions].join('|') || '(?!)'})\\(`);
let inFunction = null;  // null, 'head' or 'body'
const previous = () => { for (let i = out.length - 1; i >= 0; i--) if (out[i].trim()) return out[i].trim(); return ''; };
for (const line of lines) {
  let m = begin.exec(line);
  if (m && m[1].endsWith('.c')) {
    stack.push(m[1]);
    seen.add(m[1]);
    mark(fileIsCold());
    out.push(line);
    continue;
  }
  m = end.exec(line);
  if (m && m[1].endsWith('.c')) {
    out.push(line);
    stack.pop();
    mark(fileIsCold());
    continue;
  }
  // A header the amalgamation placed inside a .c section (vdbeInt.h inside status.c, wal.h
  // inside pager.c, ...) is left unmarked like every header: vdbeInt.h declares vdbe.c's
  // sqlite3VdbeExec, and a minsize prototype would make its hot definition minsize too.
  if (m && m[1].endsWith('.h') && stack.length > 0 && stack[stack.length - 1] === m[1]) {
    out.push(line);
    stack.pop();
    mark(fileIsCold());
    continue;
  }
  m = begin.exec(line);
  if (m && m[1].endsWith('.h') && stack.length > 0) {
    stack.push(m[1]);
    mark(false);
    out.push(line);
    continue;
  }
  if (!inFunction && fileIsCold() && (m = fnHead.exec(line))) {
    // The pragma must not split a declaration: the line before must end the previous one.
    const before = previous();
    if (!(before === '' || before.endsWith(';') || before.endsWith('}') || before.endsWith('*/') || before.startsWith('#'))) {
      console.error(`sqlite-hot: ${m[1]}: its head does not start a line of its own: ${line}`);
      process.exit(1);
    }
    foundFunctions.add(m[1]);
    mark(false);
    inFunction = 'head';
  }
  out.push(line);
  if (inFunction === 'head') {
    if (line.includes('{')) inFunction = line.trimEnd().endsWith('}') ? null : 'body';
    else if (line.trimEnd().endsWith(';')) inFunction = null;
    if (!inFunction) mark(fileIsCold());
  } else if (inFunction === 'body' && line === '}') {
    inFunction = null;
    mark(fileIsCold());
  }
}
mark(false);
const missing = [...hot].filter((f) => !seen.has(f)).concat([...hotFunctions].filter((f) => !foundFunctions.has(f)));
if (missing.length) {
  console.error(`sqlite-hot: not in the amalgamation: ${missing.join(', ')}`);
  process.exit(1);
}
fs.writeFileSync(output, out.join('\n'));
