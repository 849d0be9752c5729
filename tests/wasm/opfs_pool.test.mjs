// The access-handle pool itself (wasm/opfs_vfs.js): its on-disk header, how it treats foreign
// or damaged files, and the installer's rules. On the in-memory fake, where the pool files'
// bytes can be inspected and damaged directly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryDirectory } from '../../wasm/memory_access_handle.js';
import { moduleFactory } from './load_module.mjs';

const newModule = await moduleFactory();
const FLAGS = 0x100 | 0x2 | 0x4; // MAIN_DB | READWRITE | CREATE

async function pool(dir, capacity = 6) {
  const M = await newModule();
  await M.installOpfsPool({ directory: dir, capacity });
  return M;
}

function createFile(M, name, bytes) {
  const r = M.vfsContractOpen('opfs', name, FLAGS);
  assert.equal(r.code, 0, r.message);
  assert.equal(M.vfsContractWrite(r.file, 0, bytes).code, 0);
  assert.equal(M.vfsContractClose(r.file).code, 0);
}

test('PoolFileHeaderHoldsMagicVersionNameAndChecksumAndDataStartsAt4096', async () => {
  const dir = new MemoryDirectory();
  const M = await pool(dir);
  createFile(M, 'shop.db', new Uint8Array([9, 8, 7]));
  const slot = M.opfsPoolInfo().files.find((f) => f.name === 'shop.db').fileName;
  const bytes = dir.bytesOf(slot);
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 7)), 'tsopfs1');
  assert.equal(bytes[7], 0);
  const dv = new DataView(bytes.buffer);
  assert.equal(dv.getUint32(8, true), 1, 'format version');
  assert.equal(dv.getUint32(12, true), FLAGS, 'open flags');
  assert.equal(dv.getUint32(16, true), 7, 'name length');
  assert.equal(new TextDecoder().decode(bytes.subarray(24, 31)), 'shop.db');
  assert.deepEqual([...bytes.subarray(4096)], [9, 8, 7], 'SQLite offset 0 is pool file offset 4096');
  M.releaseOpfsPool();
});

test('DamagedHeaderFreesTheSlotInsteadOfInventingAFile', async () => {
  const dir = new MemoryDirectory();
  let M = await pool(dir);
  createFile(M, 'a.db', new Uint8Array([1]));
  createFile(M, 'b.db', new Uint8Array([2]));
  const slotA = M.opfsPoolInfo().files.find((f) => f.name === 'a.db').fileName;
  M.releaseOpfsPool();
  // Flip one byte of a.db's name: the checksum must catch it.
  const h = await (await dir.getFileHandle(slotA)).createSyncAccessHandle();
  h.write(new Uint8Array(['x'.charCodeAt(0)]), { at: 24 });
  h.close();
  M = await pool(dir);
  const names = M.opfsPoolInfo().files.map((f) => f.name).filter(Boolean);
  assert.deepEqual(names, ['b.db']);
  assert.equal(M.vfsContractAccess('opfs', 'a.db', 0).exists, 0);
  assert.equal(M.vfsContractAccess('opfs', 'x.db', 0).exists, 0);
  M.releaseOpfsPool();
});

test('CapacityIsAMinimumAndEveryExistingPoolFileIsAcquired', async () => {
  const dir = new MemoryDirectory();
  let M = await pool(dir, 3);
  for (const n of ['a', 'b', 'c']) createFile(M, `${n}.db`, new Uint8Array([1]));
  M.releaseOpfsPool();
  M = await pool(dir, 1);
  const info = M.opfsPoolInfo();
  assert.equal(info.capacity, 3);
  assert.deepEqual(info.files.map((f) => f.name).sort(), ['a.db', 'b.db', 'c.db']);
  M.releaseOpfsPool();
});

test('ForeignFilesInThePoolDirectoryAreLeftAlone', async () => {
  const dir = new MemoryDirectory();
  const h = await (await dir.getFileHandle('notes.txt', { create: true })).createSyncAccessHandle();
  h.write(new TextEncoder().encode('hello'), { at: 0 });
  h.close();
  const M = await pool(dir, 2);
  assert.deepEqual(M.opfsPoolInfo().files.map((f) => f.fileName), ['tsopfs-000.slot', 'tsopfs-001.slot']);
  M.releaseOpfsPool();
  assert.equal(new TextDecoder().decode(dir.bytesOf('notes.txt')), 'hello');
});

test('InstallerRejectsBadCapacityAndASecondInstall', async () => {
  const M = await newModule();
  await assert.rejects(M.installOpfsPool({ directory: new MemoryDirectory(), capacity: 0 }), RangeError);
  await assert.rejects(M.installOpfsPool({ directory: new MemoryDirectory(), capacity: 65 }), RangeError);
  await M.installOpfsPool({ directory: new MemoryDirectory(), capacity: 2 });
  await assert.rejects(M.installOpfsPool({ directory: new MemoryDirectory() }), /already installed/);
  M.releaseOpfsPool();
});

// The build has SQLITE_OS_OTHER=1: "opfs" is registered by sqlite3_os_init as the only VFS,
// so before the pool is installed it exists but refuses to open anything, and says why.
test('WithoutAnInstalledPoolOpeningFailsAndSaysThePoolIsNotInstalled', async () => {
  const M = await newModule();
  const C = M.sqliteConstants();
  const r = M.sqlOpen('a.db', 'opfs');
  assert.equal(r.code & 0xff, C.SQLITE_CANTOPEN);
  assert.match(r.detail, /pool is not installed/);
});

test('StringDirectoryNeedsOpfsAndSaysSoUnderNode', async () => {
  const M = await newModule();
  await assert.rejects(M.installOpfsPool({ directory: 'tillsync' }), /OPFS is not available here/);
});

test('AFailedAcquisitionGivesBackEveryHandleItTook', async () => {
  const dir = new MemoryDirectory();
  const A = await pool(dir, 3);
  A.releaseOpfsPool();
  // Someone else holds the last pool file only.
  const held = await (await dir.getFileHandle('tsopfs-002.slot')).createSyncAccessHandle();
  const B = await newModule();
  await assert.rejects(B.installOpfsPool({ directory: dir, capacity: 3 }), { name: 'OpfsPoolBusyError' });
  held.close();
  // If B had kept tsopfs-000/001, this would fail with NoModificationAllowedError.
  const C = await pool(dir, 3);
  assert.equal(C.opfsPoolInfo().capacity, 3);
  C.releaseOpfsPool();
});
