// core/cold_code.h: TS_COLD marks a function that runs rarely (opening a database, building the
// table catalog, migrations, repairs, listings, error answers) so that a build which counts its
// bytes compiles it for size instead of speed.
//
// The browser build sets TILLSYNC_SIZE_COLD_CODE (CMakeLists.txt): its .wasm has a size budget,
// and clang's minsize then inlines almost nothing into these functions and picks the shorter
// code. It works there because the engine's inline threshold is given as
// -inlinedefault-threshold, which leaves minsize functions their own small threshold (an explicit
// -inline-threshold would override it). Native builds leave the functions as they are.
// Only a function's own body is affected: templates and helpers it calls keep their level. It is
// also never inlined (noinline): LLVM inlines a static function with a single caller whatever
// its size, and inside an -O2 caller its body would be compiled at -O2 again.
#pragma once

#if defined(TILLSYNC_SIZE_COLD_CODE) && defined(__clang__)
#define TS_COLD __attribute__((minsize, noinline))
#else
#define TS_COLD
#endif
