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
    // A worker that has not read the last snapshots (stuck, or about to
    // be killed by the watchdog) is skipped, so nothing piles up for it.
    if (process->console && process->channel != nullptr &&
        process->channel->queued_bytes() < kMaxChannelPayload) {
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
  // At most kConsoleWorkers rows (about 200 bytes each), so that the
  // snapshot stays below a channel message's 64 KiB however many workers
  // run; workers_live counts them all.
  size_t live = 0;
  for (const auto& [pid, process] : processes_) live += process->reaped ? 0 : 1;
  json.field("workers_live", live);
  json.key("workers").begin_array();
  size_t rows = 0;
  for (const auto& [pid, process] : processes_) {
    const WorkerProcess& p = *process;
    if (p.reaped || rows++ == kConsoleWorkers) continue;
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
  // At most kConsoleEvents events (a few hundred bytes each), oldest
  // first; left out should they not fit below the channel's limit.
  std::string events;
  events_.append_since(console_events_cursor_, kConsoleEvents, events);
  if (json.str().size() + events.size() + 64 > kMaxChannelPayload) events.clear();
  json.key("events").begin_array().members(events).end_array();
  json.end_object();
  return json.take();
}

}  // namespace wsgate::supervisor
