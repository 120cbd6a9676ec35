// A static route's answer to one plain request: the file is looked up,
// checked and opened, then streamed a chunk at a time at the pace the
// client reads, every file operation on libuv's fs thread pool, so the
// loop never waits on a disk.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "http/handshake.h"
#include "http/static_response.h"

namespace wsgate {

class Connection;
namespace config {
struct Config;
struct RouteConfig;
}  // namespace config

// The static route that serves a plain request for `path` (as sent): the
// one with the longest path that is a prefix of it, or whose path without
// its trailing '/' equals it (answered with a redirect to the slash);
// nullptr when none is.
const config::RouteConfig* find_static_route(const config::Config& cfg, std::string_view path);

// One answer, owned by its Connection (which holds itself, with hold(),
// for every fs request in flight, so neither is freed under a callback).
//
// The steps: uv_fs_realpath (unless follow_symlinks) and the check that
// the result is inside root; uv_fs_open (O_NOFOLLOW when symlinks are not
// followed, O_NONBLOCK so a FIFO cannot stall a pool thread); uv_fs_fstat;
// a directory is redirected (no trailing '/') or its index looked up the
// same way; then the head, and uv_fs_read of kChunkSize bytes at a time,
// each queued to the client before the next is read, and the next read
// only while the client's queue is below its high mark (else once it falls
// to the low mark). uv_fs_close ends it. Memory per answer is one chunk
// plus the client's queue, whatever the file's size.
class StaticFile {
 public:
  static constexpr size_t kChunkSize = 64 * 1024;

  StaticFile(Connection& client, const config::RouteConfig& route);
  StaticFile(const StaticFile&) = delete;
  StaticFile& operator=(const StaticFile&) = delete;
  // Called by the Connection's destructor: no fs request is in flight then.
  ~StaticFile();

  // Starts answering `request` (valid during this call only). Errors found
  // without the disk (method, path) are answered before it returns.
  void start(const http::Request& request);
  // The connection is closing for good: nothing more is written; the fs
  // request in flight is cancelled if the pool has not started it, and
  // the file, once open, is closed. Idempotent.
  void cancel();
  // The client's queue fell to its low mark: the next chunk may be read.
  void on_client_writable();

 private:
  enum class Step : uint8_t {
    Idle,      // nothing in flight (answered, or waiting for the client)
    Realpath,  // uv_fs_realpath of target_
    Open,      // uv_fs_open of target_
    Stat,      // uv_fs_fstat of fd_
    Read,      // uv_fs_read into chunk_
    Close,     // uv_fs_close of fd_
  };
  // What follows the close of the file.
  enum class AfterClose : uint8_t { Nothing, LookUpIndex };

  static const char* call_name(Step step);
  static void on_fs(uv_fs_t* req) noexcept;
  void fs_done();
  // Submits req_ for `step`; false (logged, and answered or aborted) when
  // libuv refuses the request.
  bool submit(Step step);
  void look_up(std::string path);
  void realpath_done(ssize_t result);
  void open_done(ssize_t result);
  void stat_done(ssize_t result);
  void read_done(ssize_t result);
  void send_head();
  void read_next();
  void close_file(AfterClose after);
  // Answers a failed lookup of target_ (`call` failed with `error`).
  void lookup_failed(const char* call, int error);
  void refuse(int status, std::string_view reason, std::string_view extra_headers = {});
  void finish();
  void end_transfer();

  Connection& client_;
  const config::RouteConfig& route_;
  uv_fs_t req_{};
  Step step_ = Step::Idle;
  AfterClose after_close_ = AfterClose::Nothing;
  bool cancelled_ = false;
  bool looking_for_index_ = false;
  bool trailing_slash_ = false;
  bool fd_reserved_ = false;
  bool transferring_ = false;  // counted in static_transfers_active
  uv_file fd_ = -1;
  std::string relative_;  // the decoded path below the mount, for a redirect's Location
  std::string query_;     // kept in a redirect
  std::string name_;      // the last segment asked for (or the index), for Content-Type
  std::string target_;    // the file system path being looked up or opened
  http::FileRequest request_;
  http::FileFacts facts_;
  http::FileAnswer answer_;
  uint64_t offset_ = 0;     // next byte of the file to read
  uint64_t remaining_ = 0;  // bytes of the body still to read
  std::unique_ptr<char[]> chunk_;
};

}  // namespace wsgate
