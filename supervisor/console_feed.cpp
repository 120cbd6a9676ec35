// The live console's feed (relay: console, worker/relays/console.h): once
// a second, each worker that has console clients gets a snapshot of what
// wsgatectl status and stats show, with the connection-state events since
// the last snapshot; the worker hands it to its console clients as is.
// The members are listed in docs/console.md.
#include <unistd.h>

#include "common/json.h"
#include "common/stats.h"
#include "supervisor/supervisor.h"

namespace wsgate::supervisor {

void Supervisor::send_console_updates() {
  const uint64_t t = now();
  if (t - last_console_ms_ < kConsolePeriodMs) return;
  last_console_ms_ = t;
  bool wanted = false;
  for (const auto& [pid, process] : processes_) {
    if (process->console && process->channel != nullptr) wanted = true;
  }
  if (!wanted) return;
  const std::string snapshot = console_snapshot();
  for (const auto& [pid, process] : processes_) {
    if (process->console && process->channel != nullptr) {
      process->channel->send(ChannelMessage::ConsoleUpdate, snapshot);
    }
  }
}

std::string Supervisor::console_snapshot() {
  WorkerStats totals;
  RouteStatsByPath routes;
  aggregate(totals, routes);
  size_t ready = 0;
  for (const auto& [pid, process] : processes_) {
    if (process->generation == generation_ && process->state == WorkerState::Ready) ++ready;
  }
  JsonWriter json;
  json.begin_object()
      .field("type", "snapshot")
      .field("pid", static_cast<int64_t>(getpid()))
      .field("version", WSGATE_VERSION)
      .field("generation", generation_)
      .field("uptime_s", (now() - started_ms_) / 1000)
      .field("uptime_ms", now() - started_ms_)
      .field("workers_configured", config_->workers)
      .field("workers_ready", ready)
      .field("event_followers", events_.followers());
  std::string members;
  append_stats_json(members, totals);
  json.key("totals").begin_object().members(members).end_object();
  json.key("workers").begin_array();
  for (const auto& [pid, process] : processes_) {
    const WorkerProcess& p = *process;
    if (p.reaped) continue;
    json.begin_object()
        .field("slot", p.slot)
        .field("pid", static_cast<int64_t>(p.pid))
        .field("generation", p.generation)
        .field("state", state_name(p.state))
        .field("connections_active", p.stats.connections_active)
        .field("connections_accepted", p.stats.connections_accepted)
        .field("messages_in", p.stats.messages_in)
        .field("messages_out", p.stats.messages_out)
        .field("rss_bytes", p.stats.rss_bytes)
        .end_object();
  }
  json.end_array();
  // The newest events first in the page; the snapshot carries at most
  // kConsoleEvents, oldest first, so it stays well below a channel
  // message's 64 KiB.
  std::string events;
  events_.append_since(console_events_cursor_, kConsoleEvents, events);
  json.key("events").begin_array().members(events).end_array();
  json.end_object();
  return json.take();
}

}  // namespace wsgate::supervisor
