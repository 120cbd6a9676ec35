// The end of a run: one JSON object (--json) or a human summary on stdout,
// and the exit status.
#pragma once

#include "loadgen/options.h"
#include "loadgen/results.h"

namespace wsgate::loadgen {

void print_json(const Options& options, const Results& results);
void print_human(const Options& options, const Results& results);

// 0 when the run had no error and lost nothing; 1 otherwise.
int exit_status(const Results& results);

}  // namespace wsgate::loadgen
