// The log queue and its writer thread (see log_writer.h).
//
// Threads and fork(): the supervisor forks workers while its writer thread
// may be running. A pthread_atfork handler holds the queue's mutex across
// fork(), so the child starts from a consistent queue; the child then drops
// the parent's lines (the parent writes them) and starts its own writer
// thread on its first line.
#include "common/log_writer.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/details/log_msg.h>
#include <spdlog/sinks/base_sink.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "common/unix_socket.h"  // errno_text

namespace wsgate {
namespace {

// Where lines go. Shared by its sink and by the lines queued for it.
struct Destination {
  int fd = -1;  // -1 for syslog
  bool owns_fd = false;
  bool syslog = false;
  pid_t owner = getpid();  // the process that opened fd

  ~Destination() {
    if (owns_fd && fd >= 0 && owner == getpid()) ::close(fd);
  }
};

struct Line {
  std::shared_ptr<Destination> destination;
  int priority = LOG_INFO;
  std::string text;
};

struct Queue {
  std::mutex mutex;
  // Pointers, so that a child after fork() can replace them: a condition
  // variable another thread was waiting on is not reusable there.
  std::condition_variable* wake = new std::condition_variable;
  std::condition_variable* idle = new std::condition_variable;
  std::deque<Line> lines;
  size_t bytes = 0;
  bool busy = false;   // the writer holds lines outside the lock
  pid_t writer = 0;    // the process whose writer thread runs
  int syslog_fd = -1;  // the writer thread's; -1 until first used
  std::atomic<uint64_t> dropped{0};
  std::optional<LogFileOwner> file_owner;
  size_t capacity = kLogQueueBytes;
  bool writer_started = false;  // the writer thread runs (in this process)
};

Queue& queue();

void before_fork() {
  queue().mutex.lock();
}
void after_fork_in_parent() {
  queue().mutex.unlock();
}
void after_fork_in_child() {
  Queue& q = queue();
  q.mutex.unlock();
  q.wake = new std::condition_variable;  // the old ones leak, on purpose
  q.idle = new std::condition_variable;
  q.lines.clear();  // the parent writes them
  q.bytes = 0;
  q.busy = false;
  q.writer = 0;
  q.writer_started = false;
  if (q.syslog_fd >= 0) ::close(q.syslog_fd);
  q.syslog_fd = -1;
}

Queue& queue() {
  static Queue* instance = [] {
    auto* q = new Queue;  // never destroyed: other statics log at exit
    pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
    return q;
  }();
  return *instance;
}

// Writes all of `iov`, waiting for a non-blocking fd to take it. Returns
// false when the fd fails. Allocates nothing (see writer_main).
bool write_all(int fd, iovec* iov, int count) {
  while (count > 0) {
    const ssize_t n = ::writev(fd, iov, count);
    if (n < 0) {
      if (errno == EAGAIN) {
        pollfd p{fd, POLLOUT, 0};
        ::poll(&p, 1, 1000);
        continue;
      }
      if (errno == EINTR) continue;
      return false;
    }
    size_t left = static_cast<size_t>(n);
    while (count > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --count;
    }
    if (count > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
  return true;
}

bool connect_syslog(Queue& q) {
  if (q.syslog_fd >= 0) return true;
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, "/dev/log", sizeof "/dev/log");
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return false;
  }
  q.syslog_fd = fd;
  return true;
}

// One datagram, "<PRI>wsgated[PID]: text", the RFC 3164 form without the
// timestamp (the receiver stamps it): localtime_r() takes glibc's time
// zone lock, which a fork() could leave held in a child.
bool send_syslog(Queue& q, const Line& line) {
  std::string_view text = line.text;
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  char header[64];
  const int length =
      std::snprintf(header, sizeof header, "<%d>wsgated[%d]: ", LOG_DAEMON | line.priority,
                    static_cast<int>(getpid()));
  iovec parts[2] = {{header, static_cast<size_t>(length)},
                    {const_cast<char*>(text.data()), text.size()}};
  msghdr message{};
  message.msg_iov = parts;
  message.msg_iovlen = 2;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!connect_syslog(q)) return false;
    if (::sendmsg(q.syslog_fd, &message, MSG_NOSIGNAL) >= 0) return true;
    if (errno == EINTR) continue;
    ::close(q.syslog_fd);  // journald restarted: connect again once
    q.syslog_fd = -1;
  }
  return false;
}

// Writes one batch, consecutive lines for the same file in one writev().
// Runs on the writer thread without the lock.
void write_batch(Queue& q, std::deque<Line>& batch) {
  constexpr int kMaxParts = 64;
  for (size_t i = 0; i < batch.size();) {
    const Line& first = batch[i];
    if (first.destination->syslog) {
      if (!send_syslog(q, first)) q.dropped.fetch_add(1, std::memory_order_relaxed);
      ++i;
      continue;
    }
    iovec parts[kMaxParts];
    int count = 0;
    size_t end = i;
    while (end < batch.size() && count < kMaxParts && batch[end].destination == first.destination) {
      parts[count++] = {const_cast<char*>(batch[end].text.data()), batch[end].text.size()};
      ++end;
    }
    const int fd = first.destination->fd;
    if (fd < 0 || !write_all(fd, parts, count)) {
      q.dropped.fetch_add(end - i, std::memory_order_relaxed);
    }
    i = end;
  }
}

// The writer thread allocates and frees only while it holds the queue's
// lock, which fork() also holds (before_fork): a child forked while the
// writer was inside malloc could otherwise inherit a locked allocator
// (glibc's malloc copes; sanitizer allocators do not all).
void writer_main(Queue* q) {
  std::unique_lock lock(q->mutex);
  std::deque<Line> batch;  // allocates: under the lock too
  q->writer_started = true;
  q->idle->notify_all();
  for (;;) {
    q->wake->wait(lock, [q] { return !q->lines.empty(); });
    batch.swap(q->lines);  // no allocation: the two deques trade storage
    q->bytes = 0;
    q->busy = true;
    lock.unlock();
    write_batch(*q, batch);
    lock.lock();
    batch.clear();  // frees the lines (and may close a reopened file's fd)
    q->busy = false;
    if (q->lines.empty()) q->idle->notify_all();
  }
}

// Starts this process's writer thread with every signal blocked, so that
// process signals keep reaching the loop thread. Called with the lock held
// (in `lock`), and waits until the thread runs under it: a fork() while a
// new thread is still setting itself up (its allocator cache, a sanitizer's
// thread registry) could leave the child those locks held. It waits once
// per process, for as long as a thread takes to start.
bool start_writer(Queue& q, std::unique_lock<std::mutex>& lock) {
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  bool started = true;
  try {
    std::thread(writer_main, &q).detach();
  } catch (const std::exception&) {
    started = false;
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (!started) return false;
  q.idle->wait(lock, [&q] { return q.writer_started; });
  q.writer = getpid();
  return true;
}

void enqueue(const std::shared_ptr<Destination>& destination, int priority, std::string text) {
  Queue& q = queue();
  std::unique_lock lock(q.mutex);
  if (q.bytes + text.size() > q.capacity || (q.writer != getpid() && !start_writer(q, lock))) {
    q.dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  q.bytes += text.size();
  q.lines.push_back(Line{destination, priority, std::move(text)});
  q.wake->notify_one();
}

int syslog_priority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return LOG_DEBUG;
    case spdlog::level::info:
      return LOG_INFO;
    case spdlog::level::warn:
      return LOG_WARNING;
    case spdlog::level::err:
      return LOG_ERR;
    default:
      return LOG_CRIT;
  }
}

class QueuedSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit QueuedSink(std::shared_ptr<Destination> destination)
      : destination_(std::move(destination)) {}
  Destination& destination() const { return *destination_; }

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(message, formatted);
    enqueue(destination_, syslog_priority(message.level),
            std::string(formatted.data(), formatted.size()));
  }
  void flush_() override {}  // the writer thread writes as soon as it can

 private:
  std::shared_ptr<Destination> destination_;
};

template <typename Visit>
void for_each_destination(const std::vector<spdlog::sink_ptr>& sinks, Visit visit) {
  for (const auto& sink : sinks) {
    if (auto* queued = dynamic_cast<QueuedSink*>(sink.get())) visit(queued->destination());
  }
}

// "call: error text" for the errno value `error`, captured before the
// text is built.
std::string errno_call(int error, const std::string& call) {
  return call + ": " + errno_text(error);
}

// Creates the missing directories of `path`'s parent, each with mode 0750
// and given to the log files' owner.
std::string make_parent_directories(const std::string& path,
                                    const std::optional<LogFileOwner>& owner) {
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    const std::string directory = path.substr(0, slash);
    if (::mkdir(directory.c_str(), 0750) == 0) {
      if (owner && geteuid() == 0 && ::chown(directory.c_str(), owner->uid, owner->gid) != 0) {
        const int e = errno;
        return errno_call(e, "chown(" + directory + ", " + std::to_string(owner->uid) + ", " +
                                 std::to_string(owner->gid) + ")");
      }
    } else if (const int e = errno; e != EEXIST) {
      return errno_call(e, "mkdir(" + directory + ", 0750)");
    }
  }
  return "";
}

}  // namespace

spdlog::sink_ptr make_queued_fd_sink(int fd, bool owns_fd) {
  auto destination = std::make_shared<Destination>();
  destination->fd = fd;
  destination->owns_fd = owns_fd;
  return std::make_shared<QueuedSink>(std::move(destination));
}

spdlog::sink_ptr make_queued_syslog_sink() {
  auto destination = std::make_shared<Destination>();
  destination->syslog = true;
  return std::make_shared<QueuedSink>(std::move(destination));
}

void set_log_queue_capacity(size_t bytes) {
  Queue& q = queue();
  std::lock_guard lock(q.mutex);
  q.capacity = bytes;
}

void set_log_file_owner(std::optional<LogFileOwner> owner) {
  Queue& q = queue();
  std::lock_guard lock(q.mutex);
  q.file_owner = owner;
}

int open_log_file(const std::string& path, std::string& error) {
  std::optional<LogFileOwner> owner;
  {
    Queue& q = queue();
    std::lock_guard lock(q.mutex);
    owner = q.file_owner;
  }
  // O_NONBLOCK: a FIFO nobody reads fails at once (ENXIO) instead of
  // blocking the caller's loop; writes wait in the writer thread instead.
  constexpr int kFlags = O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  bool created = false;
  int fd = ::open(path.c_str(), kFlags);
  if (fd < 0 && errno == ENOENT) {
    if (error = make_parent_directories(path, owner); !error.empty()) return -1;
    fd = ::open(path.c_str(), kFlags | O_CREAT | O_EXCL, 0640);
    created = fd >= 0;
    if (fd < 0 && errno == EEXIST) fd = ::open(path.c_str(), kFlags);  // lost a race
  }
  if (fd < 0) {
    const int e = errno;
    error = errno_call(e, "open(" + path + ", O_WRONLY|O_APPEND|O_NONBLOCK|O_CREAT, 0640)");
    return -1;
  }
  // umask may have narrowed the mode; an existing file keeps the operator's.
  if (created && ::fchmod(fd, 0640) != 0) {
    const int e = errno;
    error = errno_call(e, "fchmod(" + path + ", 0640)");
    ::close(fd);
    return -1;
  }
  struct stat status {};
  if (owner && geteuid() == 0 && ::fstat(fd, &status) == 0 &&
      (status.st_uid != owner->uid || status.st_gid != owner->gid) &&
      ::fchown(fd, owner->uid, owner->gid) != 0) {
    const int e = errno;
    error = errno_call(e, "fchown(" + path + ", " + std::to_string(owner->uid) + ", " +
                              std::to_string(owner->gid) + ")");
    ::close(fd);
    return -1;
  }
  return fd;
}

uint64_t dropped_log_lines() {
  return queue().dropped.load(std::memory_order_relaxed);
}

bool flush_log_queue(std::chrono::milliseconds timeout) {
  Queue& q = queue();
  std::unique_lock lock(q.mutex);
  if (q.writer != getpid()) return q.lines.empty();
  return q.idle->wait_for(lock, timeout, [&q] { return q.lines.empty() && !q.busy; });
}

void close_inherited_sink_fds(const std::vector<spdlog::sink_ptr>& sinks) {
  flush_log_queue(std::chrono::milliseconds(1000));
  Queue& q = queue();
  std::lock_guard lock(q.mutex);
  for_each_destination(sinks, [](Destination& d) {
    if (d.owns_fd && d.fd >= 0 && d.owner != getpid()) {
      ::close(d.fd);
      d.fd = -1;
    }
  });
}

}  // namespace wsgate
