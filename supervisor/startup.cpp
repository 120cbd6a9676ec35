// The start sequence of wsgated (DESIGN.md "Supervisor duties"): daemonize,
// lock, bind, rlimit, drop privileges, supervise.
#include "supervisor/startup.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/faults.h"
#include "common/log.h"
#include "common/log_writer.h"
#include "common/process_title.h"
#include "common/unix_socket.h"
#include "supervisor/control_socket.h"
#include "supervisor/daemonize.h"
#include "supervisor/listeners.h"
#include "supervisor/lock_file.h"
#include "supervisor/log_checks.h"
#include "supervisor/privileges.h"
#include "supervisor/sd_notify.h"
#include "supervisor/supervisor.h"
#include "tls/server_tls.h"
#include "tls/upstream_tls.h"

namespace wsgate::supervisor {
namespace {

// Creates the directory holding `path` (one level, mode 0750) when it is
// missing, so the default run/ next to the config works out of the box.
std::string ensure_parent_directory(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return "";
  const std::string dir = path.substr(0, slash);
  struct stat info {};
  if (stat(dir.c_str(), &info) == 0) return "";
  if (mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) {
    return "mkdir(" + dir + ", 0750): " + errno_text(errno);
  }
  error_log().info("created directory {}", dir);
  return "";
}

}  // namespace

void log_tls_listeners(const config::Config& config, const tls::ServerTls& server_tls) {
  for (size_t i = 0; i < config.listen.size(); ++i) {
    if (const tls::ListenerTls* listener = server_tls.listener(i)) {
      error_log().info("TLS on {}: {}", config.listen[i].address, listener->summary());
    }
  }
}

void keep_keys_out_of_core_dumps() {
  // SEC-PRIV-05: a core file would hold the private keys.
  const rlimit none{0, 0};
  if (setrlimit(RLIMIT_CORE, &none) != 0) {
    error_log().warn("setrlimit(RLIMIT_CORE, 0): {}; core files may contain private keys",
                     errno_text(errno));
  }
}

int run_daemon(const config::ConfigPtr& config, bool foreground) {
  const bool detach = config->daemon && !foreground;
  // Descriptors inherited from whoever started us are not ours to keep,
  // and workers would inherit them in turn (a worker closes only the
  // supervisor's own, by list): closed before anything is opened.
  if (close_range(3, ~0U, 0) != 0) {
    std::fprintf(stderr, "wsgated: close_range(3, ~0U, 0): %s\n", std::strerror(errno));
  }
  // Before anything can write to a pipe or socket whose reader is gone
  // (the launcher's readiness pipe, a worker's channel): EPIPE, not death.
  signal(SIGPIPE, SIG_IGN);
  ReadinessPipe readiness;
  if (detach) readiness = daemonize();

  LockFile lock;
  ServiceNotifier notifier;  // read from NOTIFY_SOCKET once logging works
  bool control_bound = false;
  // Every start failure ends here: logged, cleaned up, then told to the
  // launcher (daemon) or printed (foreground).
  const auto fail = [&](const std::string& error) {
    error_log().critical("cannot start: {}", error);
    notifier.status("startup failed: " + error);
    if (control_bound) remove_control_socket(config->control_socket);
    lock.remove();
    if (readiness.active()) {
      readiness.report_error(error);
    } else {
      std::fprintf(stderr, "wsgated: %s\n", error.c_str());
    }
    return 1;
  };

  // Started as root with `user:`, the log files are made the user's, so
  // that the daemon can still reopen them after the drop (SIGHUP, rotation).
  if (geteuid() == 0) set_log_file_owner(configured_account(*config));
  if (!setup_logging(config->log, LogIdentity{"supervisor", -1, 1})) {
    return fail(last_logging_error());
  }
  for (const std::string& warning : log_directory_warnings(*config)) {
    error_log().warn("{}", warning);
  }
  error_log().info("wsgated {} starting: pid {}, config {}", WSGATE_VERSION, getpid(),
                   config->path);
  notifier = ServiceNotifier::from_environment();
  // The comm name stays "wsgated" for tools that look the daemon up by it.
  set_process_title("wsgated", {"wsgated: supervisor", "-c", config->path});
  Faults faults;
  if (const char* text = std::getenv("WSGATE_FAULTS")) {
    if (std::string error = parse_faults(text, faults); !error.empty()) return fail(error);
    if (faults.log_queue_bytes != 0) set_log_queue_capacity(faults.log_queue_bytes);
    error_log().warn(
        "WSGATE_FAULTS={}: TEST-ONLY FAULT INJECTION IS ACTIVE; never set it in "
        "production (docs/fault-injection.md)",
        text);
  }

  for (const std::string* path : {&config->pid_file, &config->control_socket}) {
    if (std::string error = ensure_parent_directory(*path); !error.empty()) return fail(error);
  }
  if (std::string error = lock.acquire(config->pid_file); !error.empty()) return fail(error);
  if (std::string error = lock.write_pid(getpid()); !error.empty()) return fail(error);

  ListenerSet listeners;
  if (std::string error = listeners.prepare(*config); !error.empty()) return fail(error);
  listeners.commit(*config);
  if (std::string error = listeners.activate(); !error.empty()) return fail(error);
  listeners.steer_by_source_address(*config);
  for (const ListenerGroup& group : listeners.groups()) {
    error_log().info("listening on {} ({} sockets)", address_text(group.listen, group.port),
                     group.fds.size());
  }

  // The socket file belongs to the first control group (else to group:),
  // mode 0660; with control_users it is 0666, since those users need not
  // be in that group. SO_PEERCRED decides either way (ControlAccess).
  std::optional<gid_t> control_group;
  if (!config->control_gids.empty()) {
    control_group = static_cast<gid_t>(config->control_gids.front());
  } else if (!config->group.empty()) {
    control_group = lookup_group(config->group);
    if (!control_group) return fail("group " + config->group + " does not exist");
  }
  ControlAccess access;
  // Started unprivileged, the daemon's uid is the operator's own.
  if (geteuid() != 0) access.own_uid = geteuid();
  for (int64_t uid : config->control_uids) access.users.push_back(static_cast<uid_t>(uid));
  for (int64_t gid : config->control_gids) access.groups.push_back(static_cast<gid_t>(gid));
  std::string error;
  const int control_fd = bind_control_socket(config->control_socket, control_group,
                                             access.users.empty() ? 0660 : 0666, error);
  if (control_fd < 0) return fail(error);
  control_bound = true;
  int metrics_fd = -1;
  if (!config->metrics.address.empty()) {
    metrics_fd = bind_metrics_socket(config->metrics, error);
    if (metrics_fd < 0) {
      close(control_fd);
      return fail(error);
    }
    error_log().info("metrics on http://{}{}", config->metrics.address, config->metrics.path);
  }

  // SEC-PRIV-01 / SEC-TLS-08: certificates, keys and upstream CA files are
  // read now, while the process may still be root, and never by a worker.
  std::shared_ptr<const tls::ServerTls> server_tls;
  std::shared_ptr<const tls::UpstreamTls> upstream_tls;
  std::optional<tls::TicketKeyRing> ticket_keys;
  try {
    server_tls = tls::ServerTls::load(*config);
    upstream_tls = tls::UpstreamTls::load(*config);
    ticket_keys = tls::TicketKeyRing::generate();
  } catch (const std::exception& e) {
    close(control_fd);
    if (metrics_fd >= 0) close(metrics_fd);
    return fail(e.what());
  }
  if (server_tls) {
    log_tls_listeners(*config, *server_tls);
    keep_keys_out_of_core_dumps();
  }

  raise_nofile_limit();
  if (std::string drop_error = drop_privileges(config->user, config->group); !drop_error.empty()) {
    close(control_fd);
    if (metrics_fd >= 0) close(metrics_fd);
    return fail(drop_error);
  }

  Supervisor supervisor(config, server_tls, upstream_tls, *ticket_keys, listeners, lock, readiness,
                        notifier);
  supervisor.inject_faults(faults);
  supervisor.set_metrics_fd(metrics_fd);
  const int code = supervisor.run(control_fd, access);
  if (!supervisor.startup_error().empty()) {
    control_bound = false;  // the supervisor removed its files already
    return fail(supervisor.startup_error());
  }
  return code;
}

}  // namespace wsgate::supervisor
