// Where wsgated and wsgatectl look for their configuration without -c.
#pragma once

#include <string>

namespace wsgate::config {

// The installed default (SYSCONFDIR/wsgate/wsgate.yaml), except for a
// program run from the build tree it was built in: then the checkout's
// sample, SOURCE/etc/wsgate.yaml, the file scripts/run serves, so that
// `build/.../wsgatectl status` in a checkout reaches that daemon. Which one
// applies is decided by where /proc/self/exe is, not by the working
// directory.
std::string default_config_path();

}  // namespace wsgate::config
