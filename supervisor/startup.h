// The start sequence of wsgated after the config is loaded: daemonize,
// lock, bind, raise limits, drop privileges, then run the supervisor.
#pragma once

#include "config/config.h"

namespace wsgate::tls {
class ServerTls;
}

namespace wsgate::supervisor {

// Runs wsgated on `config` until it stops; returns the process exit code.
// Unless `foreground` (or daemon: false), the calling process becomes the
// launcher: it exits 0 once every worker of generation 1 is READY, or 1
// with the daemon's error on stderr. In the foreground a start failure is
// printed on stderr and 1 is returned.
int run_daemon(const config::ConfigPtr& config, bool foreground);

// Logs which certificates each TLS listener serves.
void log_tls_listeners(const config::Config& config, const tls::ServerTls& server_tls);

// Sets RLIMIT_CORE to 0 so no core file holds a private key (SEC-PRIV-05).
void keep_keys_out_of_core_dumps();

}  // namespace wsgate::supervisor
