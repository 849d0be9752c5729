// fault_injecting_directory.mjs: wraps a real OPFS directory handle so that the VFS contract's
// error-path cases (quota full, short writes, throwing reads/flushes) also run on real OPFS.
// Every call still reaches the real FileSystemSyncAccessHandle unless the FaultPlan (the same
// one that drives the in-memory fake, wasm/memory_access_handle.js) says it fails first.
// Only the shapes the pool uses are wrapped: entries(), getFileHandle(), createSyncAccessHandle()
// and the six access-handle methods.

class FaultInjectingAccessHandle {
  constructor(handle, fileName, faults) {
    this._h = handle;
    this._name = fileName;
    this._faults = faults;
  }

  read(buffer, options) {
    this._faults.check('read', this._name);
    return this._h.read(buffer, options);
  }

  write(buffer, options) {
    this._faults.check('write', this._name);
    const n = this._faults.allowWrite(buffer.byteLength);
    if (n === buffer.byteLength) return this._h.write(buffer, options);
    // A full quota as Chromium reports it: part of the bytes stored, a short count returned.
    return n === 0 ? 0 : this._h.write(new Uint8Array(buffer.buffer, buffer.byteOffset, n), options);
  }

  truncate(size) {
    this._faults.check('truncate', this._name);
    return this._h.truncate(size);
  }

  getSize() {
    this._faults.check('getSize', this._name);
    return this._h.getSize();
  }

  flush() {
    this._faults.check('flush', this._name);
    return this._h.flush();
  }

  close() {
    this._faults.check('close', this._name);
    return this._h.close();
  }
}

class FaultInjectingFileHandle {
  constructor(fileHandle, faults) {
    this.kind = 'file';
    this.name = fileHandle.name;
    this._fh = fileHandle;
    this._faults = faults;
  }

  async createSyncAccessHandle() {
    return new FaultInjectingAccessHandle(await this._fh.createSyncAccessHandle(), this.name, this._faults);
  }
}

export class FaultInjectingDirectory {
  constructor(directoryHandle, faults) {
    this.kind = 'directory';
    this.name = directoryHandle.name;
    this.real = directoryHandle;
    this._faults = faults;
  }

  async getFileHandle(name, options) {
    return new FaultInjectingFileHandle(await this.real.getFileHandle(name, options), this._faults);
  }

  async *entries() {
    for await (const [name, h] of this.real.entries()) {
      yield [name, h.kind === 'file' ? new FaultInjectingFileHandle(h, this._faults) : h];
    }
  }
}
