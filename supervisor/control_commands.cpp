// The control commands and their JSON answers (the format is documented in
// docs/DESIGN-NOTES.md "Control protocol"; wsgatectl --json prints it as is).
#include <unistd.h>

#include <algorithm>

#include "common/json.h"
#include "common/log.h"
#include "supervisor/metrics_text.h"
#include "supervisor/supervisor.h"

namespace wsgate::supervisor {
namespace {

std::string_view mode_text(bool starting, bool stopping, bool graceful, bool reloading) {
  if (starting) return "starting";
  if (stopping) return "stopping";
  if (graceful) return "draining";
  if (reloading) return "reloading";
  return "running";
}

}  // namespace

void Supervisor::reply_error(std::optional<uint64_t> request, std::string_view error) {
  if (!request) return;
  JsonWriter json;
  json.begin_object().field("ok", false).field("error", error).end_object();
  control_->reply(*request, json.take());
}

void Supervisor::on_control_command(uint64_t request, std::string_view command,
                                    const PeerCredentials& peer) noexcept {
  try {
    error_log().info("control: \"{}\" from pid {} uid {}", escape_for_log(command, 64), peer.pid,
                     peer.uid);
    if (command == "status") {
      control_->reply(request, status_json());
    } else if (command == "workers") {
      control_->reply(request, workers_json());
    } else if (command == "stats") {
      start_stats_query(request);
    } else if (command == "reload") {
      request_reload(request);
    } else if (command == "stop") {
      stop_requesters_.push_back(request);
      stop_fast("wsgatectl stop");
    } else if (command == "graceful-stop") {
      stop_requesters_.push_back(request);
      stop_graceful("wsgatectl graceful-stop");
    } else if (command == "reopen-logs") {
      reopen_logs(request);
    } else if (command == "events" || command.starts_with("events ")) {
      EventHub::Request wanted;
      std::string error;
      if (EventHub::parse_request(command.substr(6), wanted, error)) {
        events_.subscribe(request, wanted, *control_);
      } else {
        reply_error(request, error);
      }
    } else if (command == "version") {
      JsonWriter json;
      json.begin_object().field("ok", true).field("version", WSGATE_VERSION).end_object();
      control_->reply(request, json.take());
    } else {
      reply_error(request, "unknown command \"" + escape_for_log(command, 64) +
                               "\" (commands: status, stats, workers, events, reload, stop, "
                               "graceful-stop, reopen-logs, version)");
    }
  } catch (const std::exception& e) {
    try {
      error_log().error("control command failed: {}", e.what());
      reply_error(request, e.what());
    } catch (...) {
    }
  } catch (...) {
  }
}

// A stats command is answered once every live worker has sent a fresh
// report, or after kStatsQueryWaitMs with what is known by then.
void Supervisor::start_stats_query(uint64_t request) {
  StatsQuery query;
  query.request = request;
  query.deadline_ms = now() + kStatsQueryWaitMs;
  for (auto& [pid, process] : processes_) {
    if (process->reaped || process->channel == nullptr) continue;
    if (process->channel->send(ChannelMessage::StatsRequest) == 0) query.waiting.push_back(pid);
  }
  if (query.waiting.empty()) {
    control_->reply(request, stats_json());
    return;
  }
  stats_queries_.push_back(std::move(query));
}

void Supervisor::on_stats_report(pid_t pid) {
  for (StatsQuery& query : stats_queries_) std::erase(query.waiting, pid);
  check_stats_queries();
}

void Supervisor::check_stats_queries() {
  if (stats_queries_.empty()) return;
  const uint64_t t = now();
  std::vector<uint64_t> due;
  std::erase_if(stats_queries_, [&](const StatsQuery& query) {
    if (!query.waiting.empty() && t < query.deadline_ms) return false;
    due.push_back(query.request);
    return true;
  });
  if (due.empty()) return;
  const std::string answer = stats_json();
  for (uint64_t request : due) control_->reply(request, answer);
}

std::string Supervisor::status_json() const {
  JsonWriter json;
  size_t ready = 0;
  for (const auto& [pid, process] : processes_) {
    if (process->generation == generation_ && process->state == WorkerState::Ready) ++ready;
  }
  json.begin_object()
      .field("ok", true)
      .field("pid", static_cast<int64_t>(getpid()))
      .field("version", WSGATE_VERSION)
      .field("state", mode_text(mode_ == Mode::Starting, mode_ == Mode::Stopping,
                                mode_ == Mode::GracefulStopping, reload_.has_value()))
      .field("generation", generation_)
      .field("uptime_s", (now() - started_ms_) / 1000)
      .field("config", config_->path)
      .field("pid_file", config_->pid_file)
      .field("control_socket", config_->control_socket);
  json.key("listeners").begin_array();
  for (const ListenerGroup& group : listeners_.groups()) {
    json.begin_object()
        .field("address", group.listen.address)
        .field("port", group.port)
        .field("sockets", group.fds.size())
        .end_object();
  }
  json.end_array();
  // 0 when metrics are off; the bound port otherwise (metrics.address may
  // ask for any free one).
  json.field("metrics_port", metrics_ ? metrics_->port() : 0);
  json.field("event_followers", events_.followers())
      .field("event_followers_dropped", events_.followers_dropped());
  json.field("workers", config_->workers)
      .field("workers_ready", ready)
      .field("unserved_sockets", unserved_sockets())
      .end_object();
  return json.take();
}

namespace {

// The slots whose sockets `p` accepts on.
void accepts_for(JsonWriter& json, const WorkerProcess& p) {
  json.key("accepts_for").begin_array();
  for (unsigned slot : p.accepting) json.value(static_cast<uint64_t>(slot));
  json.end_array();
}

}  // namespace

std::string Supervisor::workers_json() const {
  const uint64_t t = now();
  JsonWriter json;
  json.begin_object().field("ok", true).key("workers").begin_array();
  // Serving generation by slot (a slot without a live worker shows pid 0),
  // then workers of other generations (starting or draining).
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& slot = slots_[i];
    const auto it = processes_.find(slot.pid);
    json.begin_object().field("slot", i);
    if (slot.pid != 0 && it != processes_.end()) {
      const WorkerProcess& p = *it->second;
      json.field("pid", static_cast<int64_t>(p.pid))
          .field("generation", p.generation)
          .field("state", state_name(p.state))
          .field("uptime_s", (t - p.started_ms) / 1000)
          .field("last_report_age_ms", t - p.last_report_ms);
      accepts_for(json, p);
    } else {
      json.field("pid", 0)
          .field("generation", generation_)
          .field("state", slot.fatal ? "Fatal" : "Exited")
          .field("uptime_s", 0)
          .field("last_report_age_ms", 0);
      json.key("accepts_for").begin_array().end_array();
    }
    json.field("restarts", slot.restarts).end_object();
  }
  for (const auto& [pid, process] : processes_) {
    const WorkerProcess& p = *process;
    if (p.reaped || (p.generation == generation_ && p.slot < static_cast<int>(slots_.size()) &&
                     slots_[p.slot].pid == p.pid)) {
      continue;
    }
    json.begin_object()
        .field("slot", p.slot)
        .field("pid", static_cast<int64_t>(p.pid))
        .field("generation", p.generation)
        .field("state", state_name(p.state))
        .field("uptime_s", (t - p.started_ms) / 1000)
        .field("last_report_age_ms", t - p.last_report_ms)
        .field("restarts", p.restarts);
    accepts_for(json, p);
    json.end_object();
  }
  json.end_array().end_object();
  return json.take();
}

void Supervisor::aggregate(WorkerStats& totals, RouteStatsByPath& routes) const {
  // Counters: everything ever reported, by live and exited workers alike.
  // Gauges: workers that still run.
  totals = retained_;
  routes = retained_routes_;
  for (const auto& [pid, process] : processes_) {
    totals.add_counters(process->stats);
    if (!process->reaped) totals.add_gauges(process->stats);
    for (const auto& [path, route] : process->routes) {
      RouteStats& sum = routes[path];
      sum.add_counters(route);
      if (!process->reaped) sum.add_gauges(route);
    }
  }
}

std::string Supervisor::metrics_text() const {
  MetricsSnapshot snapshot;
  aggregate(snapshot.totals, snapshot.routes);
  for (const config::RouteConfig& route : config_->routes) {
    snapshot.relays[route.path] = route.relay;
  }
  snapshot.generation = generation_;
  snapshot.event_followers = events_.followers();
  snapshot.event_followers_dropped = events_.followers_dropped();
  for (const auto& [pid, process] : processes_) {
    if (process->reaped) continue;
    auto it = std::find_if(snapshot.generations.begin(), snapshot.generations.end(),
                           [&](const auto& g) { return g.generation == process->generation; });
    if (it == snapshot.generations.end()) {
      snapshot.generations.push_back({process->generation, 0, 0, 0, 0});
      it = snapshot.generations.end() - 1;
    }
    ++it->workers;
    const WorkerStats& s = process->stats;
    it->handshaking += s.connections_handshaking;
    it->closing += s.connections_closing;
    // Connections closed but not yet released count as closing too.
    it->open += s.connections_active -
                std::min(s.connections_active, s.connections_handshaking + s.connections_closing);
  }
  std::sort(snapshot.generations.begin(), snapshot.generations.end(),
            [](const auto& a, const auto& b) { return a.generation < b.generation; });
  return render_metrics(snapshot);
}

std::string Supervisor::stats_json() const {
  WorkerStats totals;
  RouteStatsByPath routes;
  aggregate(totals, routes);
  JsonWriter json;
  json.begin_object().field("ok", true).field("generation", generation_);
  std::string members;
  append_stats_json(members, totals);
  json.key("totals").begin_object().members(members).end_object();
  // Every route any worker of any generation reported, by path.
  json.key("routes").begin_object();
  for (const auto& [path, route] : routes) {
    members.clear();
    append_route_stats_json(members, route);
    json.key(path).begin_object().members(members).end_object();
  }
  json.end_object();
  json.key("workers").begin_array();
  for (const auto& [pid, process] : processes_) {
    const WorkerProcess& p = *process;
    if (p.reaped) continue;
    members.clear();
    append_stats_json(members, p.stats);
    json.begin_object()
        .field("slot", p.slot)
        .field("pid", static_cast<int64_t>(p.pid))
        .field("generation", p.generation)
        .field("state", state_name(p.state))
        .members(members)
        .end_object();
  }
  json.end_array().end_object();
  return json.take();
}

}  // namespace wsgate::supervisor
