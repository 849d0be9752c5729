// The VFS contract (tests/vfs_contract/contract.mjs) against the in-memory fake of OPFS
// (wasm/memory_access_handle.js). The same cases run on real OPFS in e2e/vfs-contract.test.mjs.
import { test } from 'node:test';
import { contractCases, runCase } from '../vfs_contract/contract.mjs';
import { FaultPlan, MemoryDirectory } from '../../wasm/memory_access_handle.js';
import { moduleFactory } from './load_module.mjs';

const newModule = await moduleFactory();
const faults = new FaultPlan();
const env = {
  label: 'memory',
  faults,
  newModule,
  newDirectory: async (name) => new MemoryDirectory(name, { faults }),
};

for (const c of contractCases) {
  test(`memory: ${c.name}`, () => runCase(env, c));
}
