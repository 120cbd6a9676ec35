// Process loggers on spdlog: the error log and the access log, rebuilt from
// the config after fork and on reopen, plus escaping of client text.
#include "common/log.h"

#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <unistd.h>

#include <memory>
#include <vector>

#include "common/log_writer.h"
#include "common/utf8_sequence.h"

namespace wsgate {
namespace {

std::string identity_text(const LogIdentity& identity) {
  std::string text = identity.role;
  if (identity.slot >= 0) {
    text += ' ';
    text += std::to_string(identity.slot);
    text += " gen ";
    text += std::to_string(identity.generation);
  }
  return text;
}

std::shared_ptr<spdlog::logger> make_stderr_logger(const char* name, const std::string& pattern) {
  auto logger =
      std::make_shared<spdlog::logger>(name, std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_pattern(pattern);
  return logger;
}

std::string error_pattern(const LogIdentity& identity) {
  return "%Y-%m-%dT%H:%M:%S.%e [%l] [pid %P " + identity_text(identity) + "] %v";
}

constexpr const char* kAccessPattern = "%Y-%m-%dT%H:%M:%S.%e %v";

struct LogState {
  std::shared_ptr<spdlog::logger> error = make_stderr_logger("error", error_pattern({}));
  std::shared_ptr<spdlog::logger> access = make_stderr_logger("access", kAccessPattern);
  bool access_enabled = true;
  std::string last_error;
  pid_t owner = getpid();  // the process that created the loggers above
  // Loggers inherited through fork(): never destroyed (see release_loggers).
  std::vector<std::shared_ptr<spdlog::logger>> inherited;
};

LogState& state() {
  static LogState* instance = new LogState;  // never destroyed: loggers outlive statics
  return *instance;
}

// Builds the sink for `target` ("stderr", "syslog" or a path): every one
// queues its lines for the writer thread (log_writer.h). `pattern` is used
// for stderr and files; syslog lines get `syslog_pattern` (syslog adds the
// time, host and pid itself). A file that cannot be opened yields a stderr
// sink and a reason in `error`.
spdlog::sink_ptr make_sink(const std::string& target, const std::string& pattern,
                           const std::string& syslog_pattern, std::string& error) {
  spdlog::sink_ptr sink;
  if (target == "syslog") {
    sink = make_queued_syslog_sink();
    sink->set_pattern(syslog_pattern);
    return sink;
  }
  if (target != "stderr" && !target.empty()) {
    std::string open_error;
    const int fd = open_log_file(target, open_error);
    if (fd >= 0) {
      sink = make_queued_fd_sink(fd, true);
    } else {
      error = "cannot open log file " + target + ": " + open_error + "; logging to stderr";
    }
  }
  if (!sink) sink = make_queued_fd_sink(STDERR_FILENO, false);
  sink->set_pattern(pattern);
  return sink;
}

// Drops the current loggers before new ones are made. In a child after
// fork(), the parent's loggers are kept alive instead (nothing of theirs is
// destroyed in the child), but the fds of the parent's log files are closed
// once what the child logged through them is written: the child opens its
// own, and must not keep the parent's (checklist of issue 10, item 10).
void release_loggers(LogState& s) {
  if (s.owner != getpid()) {
    for (const auto* logger : {s.error.get(), s.access.get()}) {
      if (logger != nullptr) close_inherited_sink_fds(logger->sinks());
    }
    s.inherited.push_back(std::move(s.error));
    s.inherited.push_back(std::move(s.access));
    s.owner = getpid();
  }
  s.error.reset();
  s.access.reset();
}

}  // namespace

bool setup_logging(const config::LogConfig& log, const LogIdentity& identity) {
  LogState& s = state();
  std::string error;
  try {
    // Drop the old loggers first: their files close, and a syslog sink's
    // closelog() runs before the new sink's openlog().
    release_loggers(s);
    s.error = make_stderr_logger("error", error_pattern(identity));
    s.access = make_stderr_logger("access", kAccessPattern);
    spdlog::set_default_logger(s.error);  // the registry lets go of the old one

    const std::string who = identity_text(identity);
    auto error_sink = make_sink(log.file, error_pattern(identity), "[" + who + "] [%l] %v", error);
    auto error_logger = std::make_shared<spdlog::logger>("error", error_sink);
    error_logger->set_level(spdlog::level::from_str(log.level));

    std::shared_ptr<spdlog::logger> access_logger;
    s.access_enabled = log.access_log != "off";
    if (s.access_enabled) {
      std::string access_error;
      auto access_sink = make_sink(log.access_log, kAccessPattern, "%v", access_error);
      if (!access_error.empty()) error += (error.empty() ? "" : "; ") + access_error;
      access_logger = std::make_shared<spdlog::logger>("access", access_sink);
      access_logger->set_level(spdlog::level::trace);
    } else {
      access_logger = std::make_shared<spdlog::logger>(
          "access", std::make_shared<spdlog::sinks::null_sink_mt>());
      access_logger->set_level(spdlog::level::off);
    }

    s.error = std::move(error_logger);
    s.access = std::move(access_logger);
    spdlog::set_default_logger(s.error);
  } catch (const std::exception& e) {
    error += (error.empty() ? "" : "; ") + std::string("logging setup failed: ") + e.what();
  }
  s.last_error = error;
  if (!error.empty()) {
    s.error->error("{}", error);
    return false;
  }
  return true;
}

const std::string& last_logging_error() {
  return state().last_error;
}

spdlog::logger& error_log() {
  return *state().error;
}
spdlog::logger& access_log() {
  return *state().access;
}
bool access_log_enabled() {
  return state().access_enabled;
}

namespace {

void append_hex_escape(std::string& out, unsigned char byte) {
  static constexpr char kDigits[] = "0123456789abcdef";
  out += "\\x";
  out += kDigits[byte >> 4];
  out += kDigits[byte & 0x0f];
}

}  // namespace

std::string escape_for_log(std::string_view text, size_t max_bytes) {
  std::string out;
  out.reserve(text.size() < max_bytes ? text.size() : max_bytes);
  std::string unit;
  for (size_t i = 0; i < text.size();) {
    // One unit is one escape or one whole character: a cut never splits it.
    unit.clear();
    const unsigned char c = static_cast<unsigned char>(text[i]);
    size_t consumed = 1;
    if (c == '\\') {
      unit = "\\\\";
    } else if (c == '"' || c < 0x20 || c == 0x7f) {
      append_hex_escape(unit, c);
    } else if (c < 0x80) {
      unit = static_cast<char>(c);
    } else if (const size_t length = utf8_sequence_length(text, i); length == 0) {
      append_hex_escape(unit, c);
    } else if (c == 0xc2 && static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
      // U+0080..U+009F: the C1 controls, escaped byte by byte.
      append_hex_escape(unit, c);
      append_hex_escape(unit, static_cast<unsigned char>(text[i + 1]));
      consumed = 2;
    } else {
      unit.assign(text.substr(i, length));
      consumed = length;
    }
    if (out.size() + unit.size() > max_bytes) {
      out += "...";
      return out;
    }
    out += unit;
    i += consumed;
  }
  return out;
}

}  // namespace wsgate
