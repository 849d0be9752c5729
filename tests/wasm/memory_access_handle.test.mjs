// The in-memory OPFS fake must behave like Chromium's FileSystemSyncAccessHandle, or the VFS
// contract run on it proves nothing. These pin down the semantics the VFS relies on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultPlan, MemoryDirectory } from '../../wasm/memory_access_handle.js';

async function handleOn(dir, name = 'f') {
  return (await dir.getFileHandle(name, { create: true })).createSyncAccessHandle();
}

test('ReadPastTheEndReturnsFewerBytesAndLeavesTheRestOfTheBufferAlone', async () => {
  const h = await handleOn(new MemoryDirectory());
  h.write(new Uint8Array([1, 2, 3]), { at: 0 });
  const buf = new Uint8Array(8).fill(9);
  assert.equal(h.read(buf, { at: 1 }), 2);
  assert.deepEqual([...buf], [2, 3, 9, 9, 9, 9, 9, 9]);
  assert.equal(h.read(buf, { at: 3 }), 0);
  assert.equal(h.read(buf, { at: 100 }), 0);
});

test('WritePastTheEndZeroFillsTheGap', async () => {
  const h = await handleOn(new MemoryDirectory());
  assert.equal(h.write(new Uint8Array([7]), { at: 5 }), 1);
  assert.equal(h.getSize(), 6);
  const buf = new Uint8Array(6).fill(9);
  h.read(buf, { at: 0 });
  assert.deepEqual([...buf], [0, 0, 0, 0, 0, 7]);
});

test('TruncateShrinksAndRegrowsWithZeros', async () => {
  const h = await handleOn(new MemoryDirectory());
  h.write(new Uint8Array([1, 2, 3, 4]), { at: 0 });
  h.truncate(1);
  assert.equal(h.getSize(), 1);
  h.truncate(4);
  const buf = new Uint8Array(4);
  h.read(buf, { at: 0 });
  assert.deepEqual([...buf], [1, 0, 0, 0]);
});

test('WithoutAtTheCursorAdvances', async () => {
  const h = await handleOn(new MemoryDirectory());
  h.write(new Uint8Array([1, 2]));
  h.write(new Uint8Array([3]));
  const buf = new Uint8Array(3);
  assert.equal(h.read(buf, { at: 0 }), 3);
  assert.deepEqual([...buf], [1, 2, 3]);
});

test('AccessHandlesAreExclusiveUntilClosed', async () => {
  const dir = new MemoryDirectory();
  const fh = await dir.getFileHandle('f', { create: true });
  const h = await fh.createSyncAccessHandle();
  await assert.rejects(fh.createSyncAccessHandle(), { name: 'NoModificationAllowedError' });
  h.close();
  const again = await fh.createSyncAccessHandle();
  assert.equal(again.getSize(), 0);
});

test('ClosedHandleThrowsInvalidStateError', async () => {
  const h = await handleOn(new MemoryDirectory());
  h.close();
  assert.throws(() => h.getSize(), { name: 'InvalidStateError' });
  assert.throws(() => h.write(new Uint8Array(1), { at: 0 }), { name: 'InvalidStateError' });
});

test('MissingFileWithoutCreateIsNotFoundError', async () => {
  await assert.rejects(new MemoryDirectory().getFileHandle('nope'), { name: 'NotFoundError' });
});

test('CrashDropsUnflushedBytesAndKeepsFlushedOnes', async () => {
  const dir = new MemoryDirectory();
  const h = await handleOn(dir);
  h.write(new Uint8Array([1, 1]), { at: 0 });
  h.flush();
  h.write(new Uint8Array([2, 2, 2]), { at: 0 });
  dir.crash();
  assert.throws(() => h.getSize(), { name: 'InvalidStateError' });
  const h2 = await handleOn(dir);
  assert.equal(h2.getSize(), 2);
  const buf = new Uint8Array(2);
  h2.read(buf, { at: 0 });
  assert.deepEqual([...buf], [1, 1]);
});

test('FaultPlanFailsTheNamedCallOnlyAndShortWritesReturnTheCount', async () => {
  const faults = new FaultPlan();
  const dir = new MemoryDirectory('d', { faults });
  const a = await handleOn(dir, 'a');
  const b = await handleOn(dir, 'b');
  faults.failNext('write', { name: 'QuotaExceededError', file: 'b' });
  assert.equal(a.write(new Uint8Array(4), { at: 0 }), 4);
  assert.throws(() => b.write(new Uint8Array(4), { at: 0 }), { name: 'QuotaExceededError' });
  assert.equal(b.write(new Uint8Array(4), { at: 0 }), 4, 'count 1: only the next write fails');
  faults.shortWrites(3);
  assert.equal(a.write(new Uint8Array(10), { at: 0 }), 3);
  assert.equal(faults.injected, 2);
  faults.clear();
  assert.equal(a.write(new Uint8Array(10), { at: 0 }), 10);
});
