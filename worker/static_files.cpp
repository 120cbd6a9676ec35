// A static route's answer, on libuv's fs thread pool (see static_files.h).
#include "worker/static_files.h"

#include <fcntl.h>
#include <spdlog/fmt/fmt.h>
#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <utility>

#include "common/log.h"
#include "config/config.h"
#include "http/static_path.h"
#include "worker/connection.h"
#include "worker/worker_loop.h"

namespace wsgate {

namespace {

// True when `real` (a realpath() result) is `root` or below it.
bool inside_root(std::string_view real, std::string_view root) {
  if (real == root) return true;
  if (real.size() <= root.size() || real.compare(0, root.size(), root) != 0) return false;
  return root.back() == '/' || real[root.size()] == '/';
}

std::string_view last_segment(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace

const config::RouteConfig* find_static_route(const config::Config& cfg, std::string_view path) {
  const config::RouteConfig* best = nullptr;
  if (path.empty()) return nullptr;  // not an origin-form path
  for (const config::RouteConfig& route : cfg.routes) {
    if (!route.is_static()) continue;
    const std::string_view mount = route.path;
    const bool under = path.starts_with(mount) || path == mount.substr(0, mount.size() - 1);
    if (under && (best == nullptr || best->path.size() < mount.size())) best = &route;
  }
  return best;
}

const char* StaticFile::call_name(Step step) {
  switch (step) {
    case Step::Realpath:
      return "uv_fs_realpath";
    case Step::Open:
      return "uv_fs_open";
    case Step::Stat:
      return "uv_fs_fstat";
    case Step::Read:
      return "uv_fs_read";
    case Step::Close:
      return "uv_fs_close";
    case Step::Idle:
      break;
  }
  return "uv_fs";
}

StaticFile::StaticFile(Connection& client, const config::RouteConfig& route)
    : client_(client), route_(route) {
  req_.data = this;
}

StaticFile::~StaticFile() {
  if (fd_ >= 0) {
    // Not reached: the connection outlives every request, the close
    // included. Closed here rather than leaked if it ever is.
    error_log().error("static route {}: fd {} still open at the end of its answer", route_.path,
                      fd_);
    uv_fs_t close_req;
    uv_fs_close(client_.worker().loop(), &close_req, fd_, nullptr);
    uv_fs_req_cleanup(&close_req);
  }
  end_transfer();
  if (fd_reserved_) client_.worker().release_fds(1);
}

void StaticFile::start(const http::Request& request) {
  WorkerStats& stats = client_.worker().stats();
  ++stats.static_requests;
  if (request.method != "GET" && request.method != "HEAD") {
    refuse(405, "a static route answers GET and HEAD", "Allow: GET, HEAD\r\n");
    return;
  }
  const config::StaticConfig& files = route_.static_files;
  http::StaticPath resolved = http::resolve_static_path(request.path, route_.path, files.dot_files);
  if (resolved.status != 0) {
    refuse(resolved.status, resolved.reason);
    return;
  }
  request_ = http::file_request_of(request);
  relative_ = resolved.relative;
  query_ = request.query;
  trailing_slash_ = resolved.trailing_slash;
  name_ = std::string(last_segment(resolved.relative));
  std::string target = files.root;
  if (!resolved.relative.empty()) {
    if (target.back() != '/') target += '/';
    target += resolved.relative;
  }
  // The file's descriptor counts in the worker's fd budget (SEC-LIM-10).
  if (!client_.worker().reserve_fds(1)) {
    ++stats.connections_shed;
    refuse(503, "too many open files", "Retry-After: 1\r\n");
    return;
  }
  fd_reserved_ = true;
  look_up(std::move(target));
}

void StaticFile::look_up(std::string path) {
  target_ = std::move(path);
  if (!submit(route_.static_files.follow_symlinks ? Step::Open : Step::Realpath)) {
    refuse(500, "internal error");
  }
}

bool StaticFile::submit(Step step) {
  uv_loop_t* loop = client_.worker().loop();
  req_.data = this;
  int rc = 0;
  switch (step) {
    case Step::Realpath:
      rc = uv_fs_realpath(loop, &req_, target_.c_str(), on_fs);
      break;
    case Step::Open: {
      // Without follow_symlinks target_ is a realpath() result: a symlink
      // put in its place since then is refused (ELOOP), not followed.
      int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
      if (!route_.static_files.follow_symlinks) flags |= O_NOFOLLOW;
      rc = uv_fs_open(loop, &req_, target_.c_str(), flags, 0, on_fs);
      break;
    }
    case Step::Stat:
      rc = uv_fs_fstat(loop, &req_, fd_, on_fs);
      break;
    case Step::Read: {
      const size_t size = static_cast<size_t>(std::min<uint64_t>(kChunkSize, remaining_));
      uv_buf_t buf = uv_buf_init(chunk_.get(), static_cast<unsigned>(size));
      rc = uv_fs_read(loop, &req_, fd_, &buf, 1, static_cast<int64_t>(offset_), on_fs);
      break;
    }
    case Step::Close:
      rc = uv_fs_close(loop, &req_, fd_, on_fs);
      break;
    case Step::Idle:
      return false;
  }
  if (rc != 0) {
    error_log().warn("static route {}: {}({}, fd {}): {}", route_.path, call_name(step),
                     escape_for_log(target_), fd_, uv_strerror(rc));
    uv_fs_req_cleanup(&req_);
    return false;
  }
  step_ = step;
  client_.hold();
  return true;
}

void StaticFile::on_fs(uv_fs_t* req) noexcept {
  auto* self = static_cast<StaticFile*>(req->data);
  Connection& client = self->client_;
  try {
    self->fs_done();
  } catch (const std::exception& e) {
    // Only allocation can throw here; the answer cannot go on.
    error_log().error("static route {}: {}", self->route_.path, e.what());
    client.static_abort();
  }
  // The hold taken by submit(); it may free the connection, and this.
  client.release();
}

void StaticFile::fs_done() {
  const Step step = std::exchange(step_, Step::Idle);
  const ssize_t result = req_.result;
  std::string real;
  if (step == Step::Realpath && result == 0) real = static_cast<const char*>(req_.ptr);
  const uv_stat_t stat = req_.statbuf;
  uv_fs_req_cleanup(&req_);

  if (step == Step::Close) {
    if (result < 0) {
      error_log().warn("static route {}: uv_fs_close(fd {}, {}): {}", route_.path, fd_,
                       escape_for_log(target_), uv_strerror(static_cast<int>(result)));
    }
    fd_ = -1;
    if (!cancelled_ &&
        std::exchange(after_close_, AfterClose::Nothing) == AfterClose::LookUpIndex) {
      looking_for_index_ = true;
      name_ = route_.static_files.index;
      look_up(target_ + (target_.back() == '/' ? "" : "/") + route_.static_files.index);
    }
    return;
  }
  if (cancelled_) {
    // The connection is gone: only the file matters now.
    if (step == Step::Open && result >= 0) fd_ = static_cast<uv_file>(result);
    if (fd_ >= 0) close_file(AfterClose::Nothing);
    return;
  }
  switch (step) {
    case Step::Realpath:
      if (result < 0) {
        lookup_failed("uv_fs_realpath", static_cast<int>(result));
        return;
      }
      if (!inside_root(real, route_.static_files.root)) {
        error_log().info("static route {}: {}: {} leads to {}, out of {}; answered 403",
                         route_.path, client_.peer_text(), escape_for_log(target_),
                         escape_for_log(real), route_.static_files.root);
        refuse(403, "forbidden");
        return;
      }
      target_ = std::move(real);
      if (!submit(Step::Open)) refuse(500, "internal error");
      return;
    case Step::Open:
      if (result < 0) {
        lookup_failed("uv_fs_open", static_cast<int>(result));
        return;
      }
      fd_ = static_cast<uv_file>(result);
      if (!submit(Step::Stat)) {
        close_file(AfterClose::Nothing);
        refuse(500, "internal error");
      }
      return;
    case Step::Stat:
      if (result < 0) {
        error_log().warn("static route {}: uv_fs_fstat(fd {}, {}): {}", route_.path, fd_,
                         escape_for_log(target_), uv_strerror(static_cast<int>(result)));
        close_file(AfterClose::Nothing);
        refuse(500, "internal error");
        return;
      }
      facts_.size = stat.st_size;
      facts_.mtime = static_cast<int64_t>(stat.st_mtim.tv_sec);
      if (S_ISDIR(stat.st_mode)) {
        if (looking_for_index_) {
          close_file(AfterClose::Nothing);
          refuse(403, "forbidden");
        } else if (!trailing_slash_) {
          // As nginx: the directory's URL ends with '/', so that the
          // page's relative links resolve inside it.
          close_file(AfterClose::Nothing);
          refuse(301, "moved permanently",
                 "Location: " + http::directory_location(route_.path, relative_, query_) + "\r\n");
        } else {
          close_file(AfterClose::LookUpIndex);
        }
        return;
      }
      if (!S_ISREG(stat.st_mode) || (trailing_slash_ && !looking_for_index_)) {
        // A device, FIFO or socket is no file to serve; nor is a file asked
        // for as a directory (nginx: ENOTDIR).
        close_file(AfterClose::Nothing);
        refuse(404, "not found");
        return;
      }
      send_head();
      return;
    case Step::Read:
      read_done(result);
      return;
    case Step::Close:
    case Step::Idle:
      return;
  }
}

void StaticFile::lookup_failed(const char* call, int error) {
  const std::string what =
      fmt::format("static route {}: {}: {}({}): {}", route_.path, client_.peer_text(), call,
                  escape_for_log(target_), uv_strerror(error));
  switch (error) {
    case UV_ENOENT:
    case UV_ENOTDIR:
    case UV_ENAMETOOLONG:
      error_log().debug("{}", what);
      // A directory without its index is 403, as nginx answers it (no
      // listing is offered).
      if (looking_for_index_) {
        refuse(403, "forbidden");
      } else {
        refuse(404, "not found");
      }
      return;
    case UV_EACCES:
    case UV_EPERM:
    case UV_ELOOP:  // a symlink loop, or a symlink where O_NOFOLLOW refuses one
      error_log().info("{}; answered 403", what);
      refuse(403, "forbidden");
      return;
    default:
      error_log().warn("{}; answered 500", what);
      refuse(500, "internal error");
      return;
  }
}

void StaticFile::send_head() {
  WorkerStats& stats = client_.worker().stats();
  answer_ = http::answer_file(request_, facts_, http::content_type(name_),
                              static_cast<int64_t>(std::time(nullptr)));
  if (answer_.status == 304) ++stats.static_not_modified;
  if (answer_.status >= 400) ++stats.static_errors;
  client_.static_head(answer_.head, answer_.status);
  if (cancelled_) return;  // the write failed (TLS) and closed the connection
  if (answer_.length == 0) {
    close_file(AfterClose::Nothing);
    finish();
    return;
  }
  transferring_ = true;
  ++stats.static_transfers_active;
  chunk_ = std::make_unique<char[]>(kChunkSize);
  offset_ = answer_.offset;
  remaining_ = answer_.length;
  read_next();
}

void StaticFile::read_next() {
  if (cancelled_ || step_ != Step::Idle || remaining_ == 0) return;
  if (!client_.static_answering()) {
    // Nothing more can be written (the TLS session failed, say): the
    // connection's own close bounds what is left; the file is done with.
    end_transfer();
    chunk_.reset();
    close_file(AfterClose::Nothing);
    return;
  }
  if (client_.static_backed_up()) return;  // on_client_writable() resumes
  if (!submit(Step::Read)) client_.static_abort();
}

void StaticFile::on_client_writable() {
  if (transferring_) read_next();
}

void StaticFile::read_done(ssize_t result) {
  if (result <= 0) {
    // The head promised remaining_ more bytes: the client can only be told
    // by the connection closing short of them.
    if (result < 0) {
      error_log().warn("static route {}: uv_fs_read(fd {}, {}, offset {}): {}", route_.path, fd_,
                       escape_for_log(target_), offset_, uv_strerror(static_cast<int>(result)));
    } else {
      error_log().warn("static route {}: {} shrank while it was sent ({} bytes short)", route_.path,
                       escape_for_log(target_), remaining_);
    }
    client_.static_abort();
    return;
  }
  const size_t got =
      static_cast<size_t>(std::min<uint64_t>(static_cast<uint64_t>(result), remaining_));
  offset_ += got;
  remaining_ -= got;
  client_.worker().stats().static_bytes_out += got;
  client_.static_body({chunk_.get(), got});
  if (cancelled_) return;
  if (remaining_ > 0) {
    read_next();
    return;
  }
  chunk_.reset();
  end_transfer();
  close_file(AfterClose::Nothing);
  finish();
}

void StaticFile::close_file(AfterClose after) {
  if (fd_ < 0) return;
  after_close_ = after;
  if (submit(Step::Close)) return;
  // libuv refused to queue the close (logged): close(2) of a regular file
  // does not wait on the disk, so it is done here rather than leaking.
  uv_fs_t close_req;
  const int rc = uv_fs_close(client_.worker().loop(), &close_req, fd_, nullptr);
  if (rc < 0) {
    error_log().warn("static route {}: uv_fs_close(fd {}, {}): {}", route_.path, fd_,
                     escape_for_log(target_), uv_strerror(rc));
  }
  uv_fs_req_cleanup(&close_req);
  fd_ = -1;
  if (after == AfterClose::LookUpIndex && !cancelled_) refuse(500, "internal error");
}

void StaticFile::cancel() {
  if (cancelled_) return;
  cancelled_ = true;
  end_transfer();
  if (step_ != Step::Idle) {
    // The callback still comes (with UV_ECANCELED when the pool had not
    // started the request) and closes the file then. chunk_ is kept: a
    // read in flight may be writing into it.
    if (step_ != Step::Close) uv_cancel(reinterpret_cast<uv_req_t*>(&req_));
    return;
  }
  chunk_.reset();
  if (fd_ >= 0) close_file(AfterClose::Nothing);
}

void StaticFile::refuse(int status, std::string_view reason, std::string_view extra_headers) {
  if (status >= 400) ++client_.worker().stats().static_errors;
  client_.static_refuse(status, reason, extra_headers);
}

void StaticFile::finish() {
  client_.static_finished();
}

void StaticFile::end_transfer() {
  if (!transferring_) return;
  transferring_ = false;
  --client_.worker().stats().static_transfers_active;
}

}  // namespace wsgate
