#include "server/instance_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tillsync::server {

InstanceLock::~InstanceLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the flock
}

Status InstanceLock::Acquire(const std::string& db_path) {
  std::string path = db_path + ".serve-lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status(ErrorCode::kIoError, "cannot open " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK)
      return Status(ErrorCode::kBusy, "a tillsync-server is running on " + db_path +
                                          "; stop it or use its HTTP API for this");
    return Status(ErrorCode::kIoError, "cannot lock " + path + ": " + std::strerror(err));
  }
  fd_ = fd;
  return Status::Ok();
}

}  // namespace tillsync::server
