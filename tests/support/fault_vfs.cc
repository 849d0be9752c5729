#include "tests/support/fault_vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstring>

namespace tillsync {
namespace {

struct FaultFile {
  sqlite3_file base;  // must be first: SQLite sees a sqlite3_file*
  FaultVfs* owner;
  std::string* path;
  bool delete_on_close;
};

FaultVfs* Owner(sqlite3_vfs* vfs) { return static_cast<FaultVfs*>(vfs->pAppData); }
FaultFile* AsFile(sqlite3_file* f) { return reinterpret_cast<FaultFile*>(f); }

int xClose(sqlite3_file* f) {
  FaultFile* ff = AsFile(f);
  if (ff->delete_on_close) ff->owner->Delete(*ff->path);
  delete ff->path;
  ff->path = nullptr;
  return SQLITE_OK;
}

int xRead(sqlite3_file* f, void* buf, int amount, sqlite3_int64 offset) {
  FaultFile* ff = AsFile(f);
  FaultVfs::File* file = ff->owner->Lookup(*ff->path, false);
  size_t have = 0;
  if (file != nullptr && uint64_t(offset) < file->current.size())
    have = std::min<size_t>(size_t(amount), file->current.size() - size_t(offset));
  if (have > 0) std::memcpy(buf, file->current.data() + offset, have);
  if (have < size_t(amount)) {
    // The VFS contract: zero-fill the rest and report a short read.
    std::memset(static_cast<uint8_t*>(buf) + have, 0, size_t(amount) - have);
    return SQLITE_IOERR_SHORT_READ;
  }
  return SQLITE_OK;
}

int xWrite(sqlite3_file* f, const void* buf, int amount, sqlite3_int64 offset) {
  FaultFile* ff = AsFile(f);
  int rc = ff->owner->BeforeWrite();
  if (rc != SQLITE_OK) return rc;
  FaultVfs::File* file = ff->owner->Lookup(*ff->path, true);
  size_t end = size_t(offset) + size_t(amount);
  size_t keep_end = std::min(end, file->current.size());
  FaultVfs::Undo undo{size_t(offset), {}, size_t(amount)};
  if (size_t(offset) < keep_end)
    undo.old_bytes.assign(file->current.begin() + offset, file->current.begin() + keep_end);
  file->undo.push_back(std::move(undo));
  if (file->current.size() < end) file->current.resize(end, 0);
  std::memcpy(file->current.data() + offset, buf, size_t(amount));
  return SQLITE_OK;
}

int xTruncate(sqlite3_file* f, sqlite3_int64 size) {
  FaultFile* ff = AsFile(f);
  int rc = ff->owner->BeforeWrite();
  if (rc != SQLITE_OK) return rc == SQLITE_IOERR_WRITE ? SQLITE_IOERR_TRUNCATE : rc;
  FaultVfs::File* file = ff->owner->Lookup(*ff->path, true);
  if (size_t(size) < file->current.size())
    file->undo.push_back({size_t(size), std::vector<uint8_t>(file->current.begin() + size, file->current.end()),
                          file->current.size() - size_t(size)});
  file->current.resize(size_t(size), 0);
  return SQLITE_OK;
}

int xSync(sqlite3_file* f, int) {
  FaultFile* ff = AsFile(f);
  int rc = ff->owner->BeforeSync();
  if (rc != SQLITE_OK) return rc;
  FaultVfs::File* file = ff->owner->Lookup(*ff->path, true);
  file->undo.clear();
  file->durable_size = file->current.size();
  return SQLITE_OK;
}

int xFileSize(sqlite3_file* f, sqlite3_int64* size) {
  FaultFile* ff = AsFile(f);
  FaultVfs::File* file = ff->owner->Lookup(*ff->path, false);
  *size = file ? sqlite3_int64(file->current.size()) : 0;
  return SQLITE_OK;
}

int xLock(sqlite3_file*, int) { return SQLITE_OK; }      // one connection per file in tests
int xUnlock(sqlite3_file*, int) { return SQLITE_OK; }
int xCheckReservedLock(sqlite3_file*, int* out) {
  *out = 0;
  return SQLITE_OK;
}
int xFileControl(sqlite3_file*, int, void*) { return SQLITE_NOTFOUND; }
int xSectorSize(sqlite3_file*) { return 512; }
int xDeviceCharacteristics(sqlite3_file*) { return 0; }  // promise nothing: the safest contract

const sqlite3_io_methods kIoMethods = {
    1, xClose, xRead, xWrite, xTruncate, xSync, xFileSize, xLock, xUnlock, xCheckReservedLock,
    xFileControl, xSectorSize, xDeviceCharacteristics, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};

int xOpen(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  FaultFile* ff = AsFile(f);
  ff->owner = Owner(vfs);
  ff->path = new std::string(name ? name : ff->owner->TempName());
  ff->delete_on_close = (flags & SQLITE_OPEN_DELETEONCLOSE) != 0;
  bool exists = ff->owner->Exists(*ff->path);
  if (!exists && !(flags & SQLITE_OPEN_CREATE)) {
    delete ff->path;
    ff->path = nullptr;
    f->pMethods = nullptr;
    return SQLITE_CANTOPEN;
  }
  ff->owner->Lookup(*ff->path, true);
  f->pMethods = &kIoMethods;
  if (out_flags) *out_flags = flags;
  return SQLITE_OK;
}

int xDelete(sqlite3_vfs* vfs, const char* name, int) {
  Owner(vfs)->Delete(name);
  return SQLITE_OK;
}

int xAccess(sqlite3_vfs* vfs, const char* name, int, int* out) {
  *out = Owner(vfs)->Exists(name) ? 1 : 0;
  return SQLITE_OK;
}

int xFullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  sqlite3_snprintf(n, out, "%s", name);
  return SQLITE_OK;
}

int xRandomness(sqlite3_vfs* vfs, int n, char* out) {
  for (int i = 0; i < n; ++i) out[i] = char(Owner(vfs)->NextRandom());
  return n;
}
int xSleep(sqlite3_vfs*, int micros) { return micros; }
int xCurrentTime(sqlite3_vfs*, double* out) {
  *out = 2461000.5;  // a fixed Julian day: the engine never reads SQLite's clock
  return SQLITE_OK;
}
int xGetLastError(sqlite3_vfs*, int, char*) { return 0; }

}  // namespace

FaultVfs::FaultVfs(std::string name, uint64_t seed) : name_(std::move(name)), rng_(seed) {
  vfs_ = std::make_unique<sqlite3_vfs>();
  std::memset(vfs_.get(), 0, sizeof(sqlite3_vfs));
  vfs_->iVersion = 1;
  vfs_->szOsFile = sizeof(FaultFile);
  vfs_->mxPathname = 512;
  vfs_->zName = name_.c_str();
  vfs_->pAppData = this;
  vfs_->xOpen = xOpen;
  vfs_->xDelete = xDelete;
  vfs_->xAccess = xAccess;
  vfs_->xFullPathname = xFullPathname;
  vfs_->xRandomness = xRandomness;
  vfs_->xSleep = xSleep;
  vfs_->xCurrentTime = xCurrentTime;
  vfs_->xGetLastError = xGetLastError;
  sqlite3_vfs_register(vfs_.get(), 0);
}

FaultVfs::~FaultVfs() { sqlite3_vfs_unregister(vfs_.get()); }

FaultVfs::File* FaultVfs::Lookup(const std::string& path, bool create) {
  auto it = files_.find(path);
  if (it == files_.end()) {
    if (!create) return nullptr;
    it = files_.emplace(path, File{}).first;
  }
  return &it->second;
}

void FaultVfs::FailNthWrite(int64_t n, bool as_full) {
  fail_write_at_ = writes_ + n;
  fail_write_as_full_ = as_full;
}
void FaultVfs::FailNthSync(int64_t n) { fail_sync_at_ = syncs_ + n; }
void FaultVfs::FreezeAtNthSync(int64_t n) { freeze_at_sync_ = syncs_ + n; }
void FaultVfs::ClearFaults() {
  fail_write_at_ = fail_sync_at_ = freeze_at_sync_ = 0;
  frozen_ = false;
}

int FaultVfs::BeforeWrite() {
  if (frozen_) return SQLITE_IOERR_WRITE;
  ++writes_;
  if (fail_write_at_ != 0 && writes_ == fail_write_at_) return fail_write_as_full_ ? SQLITE_FULL : SQLITE_IOERR_WRITE;
  return SQLITE_OK;
}

int FaultVfs::BeforeSync() {
  if (frozen_) return SQLITE_IOERR_FSYNC;
  ++syncs_;
  if (freeze_at_sync_ != 0 && syncs_ == freeze_at_sync_) {
    frozen_ = true;
    return SQLITE_IOERR_FSYNC;
  }
  if (fail_sync_at_ != 0 && syncs_ == fail_sync_at_) return SQLITE_IOERR_FSYNC;
  return SQLITE_OK;
}

uint64_t FaultVfs::NextRandom() {
  uint64_t z = (rng_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::string FaultVfs::TempName() { return "temp-" + std::to_string(++temp_counter_); }

void FaultVfs::CrashFiles(const std::string& prefix, CrashMode mode) {
  for (auto& [path, file] : files_) {
    if (path.compare(0, prefix.size(), prefix) != 0) continue;
    // Rewind the unsynced writes, newest first. When garbling, each rewound region instead may
    // keep its new bytes (the write reached the platter) or become noise (a torn write).
    std::vector<uint8_t> newest = file.current;
    for (auto it = file.undo.rbegin(); it != file.undo.rend(); ++it) {
      if (file.current.size() < it->offset + it->old_bytes.size()) file.current.resize(it->offset + it->old_bytes.size(), 0);
      std::copy(it->old_bytes.begin(), it->old_bytes.end(), file.current.begin() + it->offset);
    }
    size_t size = file.durable_size;
    if (mode == CrashMode::kGarbleUnsynced) {
      if (NextRandom() % 2) size = newest.size();  // the size change may have reached the disk
      file.current.resize(std::max(file.current.size(), size), 0);
      for (const Undo& u : file.undo) {
        size_t end = std::min(size, u.offset + u.length);
        for (size_t off = u.offset; off < end; off += 512) {
          size_t stop = std::min(end, off + 512);
          switch (NextRandom() % 3) {
            case 0:
              for (size_t i = off; i < stop && i < newest.size(); ++i) file.current[i] = newest[i];
              break;
            case 1: break;  // the old bytes stay
            default:
              for (size_t i = off; i < stop; ++i) file.current[i] = uint8_t(NextRandom());
              break;
          }
        }
      }
    }
    file.current.resize(size, 0);
    file.undo.clear();
    file.durable_size = file.current.size();
  }
  frozen_ = false;
  fail_write_at_ = fail_sync_at_ = freeze_at_sync_ = 0;
}

void FaultVfs::Reset() { files_.clear(); }

}  // namespace tillsync
