// The worker table: forking into a slot, state transitions, reaping,
// respawn with backoff, and readiness of a generation.
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/unix_socket.h"
#include "supervisor/accept_plan.h"
#include "supervisor/supervisor.h"
#include "worker/worker.h"

namespace wsgate::supervisor {

WorkerProcess* Supervisor::find(pid_t pid) {
  const auto it = processes_.find(pid);
  return it == processes_.end() ? nullptr : it->second.get();
}

WorkerProcess* Supervisor::spawn(int slot, unsigned generation, const config::ConfigPtr& config,
                                 const std::shared_ptr<const tls::ServerTls>& server_tls,
                                 const std::shared_ptr<const tls::UpstreamTls>& upstream_tls) {
  WorkerSetup setup;
  setup.config = config;
  setup.slot = slot;
  setup.generation = generation;
  setup.instance = next_instance_++;
  setup.listen_fds = listeners_.sockets_of(*config);
  // The supervisor's descriptors that are not libuv handles of its loop
  // (run_worker closes those by walking the loop).
  for (int fd : listeners_.all_fds()) {
    const bool given = std::any_of(setup.listen_fds.begin(), setup.listen_fds.end(),
                                   [&](const ListenFd& l) { return l.fd == fd; });
    if (!given) setup.close_fds.push_back(fd);
  }
  for (int fd : {lock_.fd(), readiness_.fd()}) {
    if (fd >= 0) setup.close_fds.push_back(fd);
  }
  const bool reload_worker = reload_ && generation == reload_->generation;
  const bool last_slot = static_cast<unsigned>(slot) + 1 == config->workers;
  setup.faults.exit_before_ready =
      reload_worker && last_slot && faults_.new_worker_exit_before_ready;
  setup.faults.never_ready = reload_worker && last_slot && faults_.new_worker_never_ready;
  setup.faults.fatal_on_sigusr2 = faults_.worker_fatal_exit;
  setup.faults.throw_on_accept = faults_.accept_throw;
  setup.tls = server_tls;
  setup.upstream_tls = upstream_tls;
  setup.ticket_keys = &ticket_keys_;
  setup.parent_loop = &loop_;
  ForkResult forked;
  if (fork_worker(setup, forked) < 0) return nullptr;
  auto process = std::make_unique<WorkerProcess>();
  process->slot = slot;
  process->generation = generation;
  process->pid = forked.pid;
  process->config = config;
  process->started_ms = now();
  process->last_report_ms = process->started_ms;
  process->channel = WorkerChannel::open(&loop_, forked.channel_fd, forked.pid,
                                         static_cast<WorkerChannel::Listener&>(*this));
  WorkerProcess* raw = process.get();
  processes_[forked.pid] = std::move(process);
  error_log().info("worker slot {} pid {} gen {}: forked -> Starting", slot, forked.pid,
                   generation);
  if (raw->channel == nullptr) {
    // Without a channel it can neither report nor be told anything.
    raw->channel_lost_ms = now();
    send_signal(*raw, SIGKILL);
  }
  return raw;
}

void Supervisor::transition(WorkerProcess& process, WorkerState state) {
  if (process.state == state) return;
  error_log().info("worker slot {} pid {} gen {}: {} -> {}", process.slot, process.pid,
                   process.generation, state_name(process.state), state_name(state));
  process.state = state;
}

// Never signals a reaped pid: the number may belong to someone else by now.
void Supervisor::send_signal(WorkerProcess& process, int signum) {
  if (process.reaped) return;
  if (signum == SIGKILL) {
    process.killed = true;
    process.kill_at_ms = 0;
  }
  if (kill(process.pid, signum) != 0 && errno != ESRCH) {
    error_log().error("kill({}, {}): {}", process.pid, signal_name(signum), errno_text(errno));
  }
}

void Supervisor::reap_children() {
  for (;;) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid == 0) return;
    if (pid < 0) {
      if (errno == EINTR) continue;
      if (errno != ECHILD) error_log().error("waitpid(-1, WNOHANG): {}", errno_text(errno));
      return;
    }
    WorkerProcess* process = find(pid);
    if (process == nullptr) {
      // An exec program (or its descendant) whose worker died: adopted as
      // the subreaper, killed by kill_orphans().
      error_log().info("reaped orphaned process {}: {}", pid, describe_wait_status(status));
      continue;
    }
    on_worker_exit(*process, status);
    if (!WIFEXITED(status)) kill_orphans();
  }
}

namespace {

// This process's children: /proc/self/task/*/children (each thread lists
// the children it forked), which spares a walk over every process of the
// machine. Empty when the kernel does not provide the files.
std::vector<pid_t> own_children() {
  std::vector<pid_t> children;
  DIR* tasks = opendir("/proc/self/task");
  if (tasks == nullptr) {
    error_log().warn("opendir(/proc/self/task): {}", errno_text(errno));
    return children;
  }
  while (dirent* task = readdir(tasks)) {
    if (task->d_name[0] == '.') continue;
    const std::string path = std::string("/proc/self/task/") + task->d_name + "/children";
    std::FILE* file = std::fopen(path.c_str(), "re");
    if (file == nullptr) continue;
    int pid = 0;
    while (std::fscanf(file, "%d", &pid) == 1) children.push_back(pid);
    std::fclose(file);
  }
  closedir(tasks);
  return children;
}

// State, process group and session of `pid` from /proc/PID/stat; false
// once it is gone. "pid (comm) state ppid pgrp session ...": comm may hold
// spaces and ')'.
bool read_stat(pid_t pid, char& state, int& pgrp, int& session) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  std::FILE* file = std::fopen(path, "re");
  if (file == nullptr) return false;
  char line[512];
  const bool read = std::fgets(line, sizeof line, file) != nullptr;
  std::fclose(file);
  const char* after = read ? std::strrchr(line, ')') : nullptr;
  int ppid = 0;
  return after != nullptr &&
         std::sscanf(after + 1, " %c %d %d %d", &state, &ppid, &pgrp, &session) == 4;
}

}  // namespace

// Every child of the supervisor that is not a worker was adopted as the
// subreaper (PR_SET_CHILD_SUBREAPER): an exec program whose worker died by
// a signal (its PR_SET_PDEATHSIG may not have come yet), or a descendant
// of one that outlived its parent. Each program is a session leader, so
// an orphan whose session leader still runs belongs to a live program
// (a script's "(helper &)") and is left alone; the rest, with their
// process groups, get SIGKILL. Called after reaping a worker that died by
// a signal, and once a second by the tick while exec routes exist.
void Supervisor::kill_orphans() {
  const pid_t self_session = getsid(0);
  for (const pid_t pid : own_children()) {
    if (find(pid) != nullptr) continue;
    char state = 0;
    int pgrp = 0, session = 0;
    if (!read_stat(pid, state, pgrp, session) || state == 'Z') continue;
    char leader_state = 0;
    int leader_pgrp = 0, leader_session = 0;
    if (session != pid && session != self_session &&
        read_stat(session, leader_state, leader_pgrp, leader_session) && leader_state != 'Z') {
      continue;
    }
    error_log().warn("killing pid {} (process group {}), left behind by an exec program", pid,
                     pgrp);
    if (pgrp == pid && kill(-pgrp, SIGKILL) != 0 && errno != ESRCH) {
      error_log().warn("kill(-{}, SIGKILL): {}", pgrp, errno_text(errno));
    }
    if (kill(pid, SIGKILL) != 0 && errno != ESRCH) {
      error_log().warn("kill({}, SIGKILL): {}", pid, errno_text(errno));
    }
  }
}

void Supervisor::on_worker_exit(WorkerProcess& process, int status) {
  const WorkerState previous = process.state;
  process.reaped = true;
  process.wait_status = status;
  process.reaped_ms = now();
  process.kill_at_ms = 0;
  const int code = exit_code_of(status);
  // Told to go and gone: exit code 0, or our own SIGKILL (rollback, stop).
  const bool expected = (previous == WorkerState::Draining || previous == WorkerState::Stopping) &&
                        (code == 0 || process.killed);
  const auto level = code == kWorkerExitFatal ? spdlog::level::critical
                     : expected               ? spdlog::level::info
                                              : spdlog::level::err;
  error_log().log(level, "worker slot {} pid {} gen {} {} (was {})", process.slot, process.pid,
                  process.generation, describe_wait_status(status), state_name(previous));
  transition(process, WorkerState::Exited);
  on_stats_report(process.pid);  // it will not answer a pending stats query

  const pid_t pid = process.pid;
  const int index = process.slot;
  const bool current = process.generation == generation_ && index >= 0 &&
                       static_cast<size_t>(index) < slots_.size() && slots_[index].pid == pid;
  if (current) {
    slots_[index].pid = 0;
    assign_accepting();
  }

  if (reload_ && process.generation == reload_->generation) {
    fail_reload("rollback: worker slot " + std::to_string(index) + " " +
                describe_wait_status(status) + " before READY");
  } else if (mode_ == Mode::Starting && current) {
    fail_startup("worker slot " + std::to_string(index) + " " + describe_wait_status(status) +
                 " before READY");
  } else if (mode_ == Mode::Running && current &&
             (previous == WorkerState::Starting || previous == WorkerState::Ready)) {
    schedule_respawn(slots_[index], index, process);
  }
  // The channel may still hold its last report; it is read until EOF.
  WorkerProcess* still = find(pid);
  if (still != nullptr && still->channel == nullptr) finalize(pid);
  maybe_finish();
}

// Forgets a worker that is reaped and whose channel is closed, keeping its
// counters so totals never go down.
void Supervisor::finalize(pid_t pid) {
  const auto it = processes_.find(pid);
  if (it == processes_.end()) return;
  retained_.add_counters(it->second->stats);
  for (const auto& [path, route] : it->second->routes) retained_routes_[path].add_counters(route);
  processes_.erase(it);
  maybe_finish();
}

void Supervisor::schedule_respawn(Slot& slot, int index, const WorkerProcess& process) {
  if (!faults_.respawns(static_cast<unsigned>(index))) {
    error_log().warn("fault no_respawn:{}: slot {} stays without a worker", index, index);
    return;
  }
  if (exit_code_of(process.wait_status) == kWorkerExitFatal) {
    slot.fatal = true;
    error_log().critical("worker slot {} gen {} exited with the fatal code {}: not respawning it",
                         index, process.generation, kWorkerExitFatal);
    return;
  }
  const uint64_t t = now();
  if (t - process.started_ms >= kRespawnStableMs) slot.backoff_ms = 0;
  slot.backoff_ms = slot.backoff_ms == 0 ? kRespawnBackoffMinMs
                                         : std::min(slot.backoff_ms * 2, kRespawnBackoffMaxMs);
  slot.respawn_at_ms = t + slot.backoff_ms;
  error_log().warn("worker slot {}: respawning in {} ms", index, slot.backoff_ms);
}

void Supervisor::respawn(int index) {
  Slot& slot = slots_[index];
  slot.respawn_at_ms = 0;
  WorkerProcess* process = spawn(index, generation_, config_, tls_, upstream_tls_);
  if (process == nullptr) {
    slot.backoff_ms =
        std::min(std::max(slot.backoff_ms * 2, kRespawnBackoffMinMs), kRespawnBackoffMaxMs);
    slot.respawn_at_ms = now() + slot.backoff_ms;
    error_log().error("worker slot {}: fork failed; retrying in {} ms", index, slot.backoff_ms);
    return;
  }
  slot.pid = process->pid;
  process->restarts = ++slot.restarts;
}

void Supervisor::on_worker_ready(WorkerProcess& process) {
  if (process.generation == generation_ &&
      !(reload_ && process.generation == reload_->generation)) {
    assign_accepting();
  }
  if (mode_ == Mode::Starting && process.generation == generation_) {
    const bool all_ready = std::all_of(slots_.begin(), slots_.end(), [&](const Slot& slot) {
      const WorkerProcess* p = find(slot.pid);
      return p != nullptr && p->state == WorkerState::Ready;
    });
    if (all_ready) {
      mode_ = Mode::Running;
      error_log().info("generation {} ready: {} workers serving", generation_, slots_.size());
      readiness_.report_ready();
      notifier_.ready("generation " + std::to_string(generation_) + ": " +
                      std::to_string(slots_.size()) + " workers serving");
    }
  }
  if (reload_ && process.generation == reload_->generation) {
    const bool all_ready = std::all_of(reload_->pids.begin(), reload_->pids.end(), [&](pid_t pid) {
      const WorkerProcess* p = find(pid);
      return p != nullptr && p->state == WorkerState::Ready;
    });
    if (all_ready) commit_reload();
  }
}

void Supervisor::assign_accepting() {
  if (mode_ == Mode::Stopping || mode_ == Mode::GracefulStopping) return;
  std::vector<bool> live(slots_.size(), false);
  for (size_t slot = 0; slot < slots_.size(); ++slot) {
    const WorkerProcess* p = find(slots_[slot].pid);
    live[slot] =
        p != nullptr && !p->reaped && p->state == WorkerState::Ready && p->channel != nullptr;
  }
  const AcceptPlan plan = plan_accepting(live);
  for (size_t slot = 0; slot < slots_.size(); ++slot) {
    if (!live[slot]) continue;
    WorkerProcess& p = *find(slots_[slot].pid);
    if (p.accepting == plan.accepts[slot]) continue;
    for (unsigned other : plan.accepts[slot]) {
      const bool adopted = other != slot && std::find(p.accepting.begin(), p.accepting.end(),
                                                      other) == p.accepting.end();
      if (!adopted) continue;
      // A slot whose worker is still starting is ordinary (startup,
      // respawn); one without a worker is worth a warning.
      const WorkerProcess* owner = find(slots_[other].pid);
      const bool starting =
          owner != nullptr && !owner->reaped && owner->state == WorkerState::Starting;
      error_log().log(starting ? spdlog::level::debug : spdlog::level::warn,
                      "worker slot {} pid {} accepts for slot {} too: slot {} has {}", slot, p.pid,
                      other, other, starting ? "a worker not READY yet" : "no live worker");
    }
    p.accepting = plan.accepts[slot];
    p.channel->send(ChannelMessage::Accept, encode_accept_slots(p.accepting));
  }
  if (plan.unserved != unserved_slots_ && !plan.unserved.empty()) {
    std::string slots;
    for (unsigned slot : plan.unserved) slots += (slots.empty() ? "" : ", ") + std::to_string(slot);
    error_log().error("no live worker accepts for slots {}: their connections wait in the backlog",
                      slots);
  }
  unserved_slots_ = plan.unserved;
}

size_t Supervisor::unserved_sockets() const {
  size_t count = 0;
  for (const ListenFd& socket : listeners_.sockets_of(*config_)) {
    if (std::find(unserved_slots_.begin(), unserved_slots_.end(), socket.slot) !=
        unserved_slots_.end()) {
      ++count;
    }
  }
  return count;
}

}  // namespace wsgate::supervisor
