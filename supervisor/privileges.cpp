// Process limits and privileges of the supervisor (see privileges.h).
#include "supervisor/privileges.h"

#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>

#include "common/log.h"
#include "common/unix_socket.h"

namespace wsgate::supervisor {
namespace {

std::string limit_text(rlim_t value) {
  return value == RLIM_INFINITY ? std::string("unlimited") : std::to_string(value);
}

std::string fail(const std::string& text) {
  error_log().critical("{}", text);
  return text;
}

}  // namespace

void raise_nofile_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    error_log().warn("getrlimit(RLIMIT_NOFILE): {}", errno_text(errno));
    return;
  }
  if (limit.rlim_cur >= limit.rlim_max) {
    error_log().info("RLIMIT_NOFILE is {}", limit_text(limit.rlim_cur));
    return;
  }
  const rlim_t old_soft = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    error_log().warn("setrlimit(RLIMIT_NOFILE, {}): {}; keeping {}", limit_text(limit.rlim_cur),
                     errno_text(errno), limit_text(old_soft));
    return;
  }
  error_log().info("RLIMIT_NOFILE raised from {} to {}", limit_text(old_soft),
                   limit_text(limit.rlim_cur));
}

std::optional<gid_t> lookup_group(const std::string& name) {
  errno = 0;
  const group* entry = getgrnam(name.c_str());
  if (entry == nullptr) {
    error_log().error("getgrnam({}): {}", name,
                      errno != 0 ? errno_text(errno) : std::string("no such group"));
    return std::nullopt;
  }
  return entry->gr_gid;
}

std::string drop_privileges(const std::string& user, const std::string& group) {
  if (geteuid() != 0 || user.empty()) return "";
  errno = 0;
  const passwd* account = getpwnam(user.c_str());
  if (account == nullptr) {
    return fail("getpwnam(" + user +
                "): " + (errno != 0 ? errno_text(errno) : std::string("no such user")));
  }
  const uid_t uid = account->pw_uid;
  gid_t gid = account->pw_gid;
  if (!group.empty()) {
    const auto group_id = lookup_group(group);
    if (!group_id) return fail("group " + group + " does not exist");
    gid = *group_id;
  }
  if (initgroups(user.c_str(), gid) != 0) {
    return fail("initgroups(" + user + ", " + std::to_string(gid) + "): " + errno_text(errno));
  }
  if (setgid(gid) != 0) return fail("setgid(" + std::to_string(gid) + "): " + errno_text(errno));
  if (setuid(uid) != 0) return fail("setuid(" + std::to_string(uid) + "): " + errno_text(errno));
  // CERT POS37-C: the drop must be irreversible and complete.
  if (uid != 0 && setuid(0) == 0) return fail("setuid(0) succeeded after dropping privileges");
  if (geteuid() != uid || getegid() != gid) {
    return fail("privileges not dropped: euid " + std::to_string(geteuid()) + " egid " +
                std::to_string(getegid()));
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return fail("prctl(PR_SET_NO_NEW_PRIVS, 1): " + errno_text(errno));
  }
  error_log().info("running as user {} (uid {}) group {}", user, uid, gid);
  return "";
}

}  // namespace wsgate::supervisor
