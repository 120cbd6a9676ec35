// Log ownership checks (see log_checks.h).
#include "supervisor/log_checks.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace wsgate::supervisor {
namespace {

struct Account {
  std::string name;
  uid_t uid = 0;
  std::vector<gid_t> groups;  // primary first, then supplementary
};

std::optional<Account> lookup_account(const config::Config& config) {
  Account account;
  if (config.user.empty() || geteuid() != 0) {
    // No drop: the daemon keeps the account it was started with.
    account.uid = geteuid();
    account.name = "uid " + std::to_string(account.uid);
    account.groups.push_back(getegid());
    std::vector<gid_t> groups(static_cast<size_t>(std::max(getgroups(0, nullptr), 0)));
    const int n = getgroups(static_cast<int>(groups.size()), groups.data());
    for (int i = 0; i < n; ++i) account.groups.push_back(groups[static_cast<size_t>(i)]);
    return account;
  }
  const std::optional<LogFileOwner> owner = configured_account(config);
  if (!owner) return std::nullopt;
  account.name = config.user;
  account.uid = owner->uid;
  const gid_t primary = owner->gid;
  int count = 64;
  std::vector<gid_t> groups(static_cast<size_t>(count));
  if (getgrouplist(config.user.c_str(), primary, groups.data(), &count) < 0) {
    groups.resize(static_cast<size_t>(count));
    getgrouplist(config.user.c_str(), primary, groups.data(), &count);
  }
  groups.resize(static_cast<size_t>(std::max(count, 0)));
  account.groups.push_back(primary);
  account.groups.insert(account.groups.end(), groups.begin(), groups.end());
  return account;
}

// Whether `account` has write permission on `status` by its mode bits
// (root has it always).
bool can_write(const Account& account, const struct stat& status) {
  if (account.uid == 0) return true;
  if (status.st_uid == account.uid) return (status.st_mode & S_IWUSR) != 0;
  if (std::find(account.groups.begin(), account.groups.end(), status.st_gid) !=
      account.groups.end()) {
    return (status.st_mode & S_IWGRP) != 0;
  }
  return (status.st_mode & S_IWOTH) != 0;
}

std::string describe(const struct stat& status) {
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(status.st_mode & 07777));
  return "owner " + std::to_string(status.st_uid) + ":" + std::to_string(status.st_gid) +
         ", mode " + mode;
}

bool is_path(const std::string& target) {
  return !target.empty() && target.front() == '/';
}

}  // namespace

std::optional<LogFileOwner> configured_account(const config::Config& config) {
  if (config.user.empty()) return std::nullopt;
  const passwd* entry = getpwnam(config.user.c_str());
  if (entry == nullptr) return std::nullopt;
  LogFileOwner owner{entry->pw_uid, entry->pw_gid};
  if (!config.group.empty()) {
    const group* named = getgrnam(config.group.c_str());
    if (named == nullptr) return std::nullopt;
    owner.gid = named->gr_gid;
  }
  return owner;
}

std::vector<std::string> log_directory_warnings(const config::Config& config) {
  std::vector<std::string> warnings;
  const std::optional<Account> account = lookup_account(config);
  if (!account) return warnings;  // the drop itself will fail, louder
  for (const std::string* target : {&config.log.file, &config.log.access_log}) {
    if (!is_path(*target)) continue;
    const std::string directory = target->substr(0, std::max<size_t>(target->rfind('/'), 1));
    struct stat status {};
    if (stat(directory.c_str(), &status) == 0 && !can_write(*account, status)) {
      warnings.push_back("log directory " + directory + " is not writable by " + account->name +
                         " (" + describe(status) + "): after a rotation by mv, " + *target +
                         " cannot be created again by reopen-logs; make the directory " +
                         "writable by that user or rotate with logrotate's create");
    }
    // Started as root, the daemon gives existing files to the account
    // itself (open_log_file); otherwise they must already be writable.
    if (geteuid() != 0 && stat(target->c_str(), &status) == 0 && !can_write(*account, status)) {
      warnings.push_back("log file " + *target + " is not writable by " + account->name + " (" +
                         describe(status) + ")");
    }
  }
  return warnings;
}

}  // namespace wsgate::supervisor
