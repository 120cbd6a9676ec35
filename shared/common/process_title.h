// The process title shown by ps: the comm name (prctl) and the command
// line (/proc/PID/cmdline), rewritten in place the way setproctitle does.
#pragma once

#include <initializer_list>
#include <string_view>

namespace wsgate {

// Takes over the memory of argv and of the environment strings that follow
// it, so set_process_title() can write a title longer than the original
// command line. The environment is copied to the heap first and `environ`
// points at the copy from then on. Call once, from main(), before any
// thread starts and before anything keeps a pointer into argv or environ;
// argv[1..] must not be used after the first set_process_title().
void init_process_title(int argc, char** argv);

// Sets the comm name to `comm` (the kernel keeps 15 bytes) and the command
// line to `words`. When the words fit in the original argv memory they are
// written as separate NUL-terminated arguments (so "-c PATH" stays two
// arguments, as tools matching one argument expect); otherwise they are
// joined with spaces into one string that may run over the environment
// area. A title longer than both areas is cut. Failures are logged; the
// title is cosmetic and nothing depends on it.
void set_process_title(std::string_view comm, std::initializer_list<std::string_view> words);

}  // namespace wsgate
