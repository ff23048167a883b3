// `gotestrun`'s command line: which subcommand, with which options. Parsing only;
// main.cc does the work.
//
//   gotestrun run [PACKAGES...] [-f FILE] [--module-dir DIR] [--memory Q] [--max-memory Q]
//       [--shards N] [--max-shards N] [--parallel N] [--p N] [--max-attempts N]
//       [--name NAME] [--out RUN_DIR] [--agent PATH] [--json-progress] [--no-history]
//       [--memory-stall-after D] [--no-memory-stall]
//   gotestrun describe RUN_DIR
//   gotestrun describe NAME [-n NAMESPACE] [--kubeconfig PATH]
//   gotestrun help
//
// Options are "--name value" or "--name=value", in any order with the positional
// arguments; "--" ends them. Values are checked later, by api::ParseSpec, so that a
// bad one gets the CRD's message; here only their presence and the numbers' form.
#pragma once

#include <span>
#include <string>

#include "base/status.h"
#include "cli/run_spec.h"

namespace gotestrun::cli {

// The whole help text: usage, what each option means, and the exit codes.
extern const char kUsage[];

struct DescribeArgs {
  std::string target;      // a run folder, or the name of a GoTestRun in a cluster
  std::string ns;          // -n; empty: the kubeconfig's namespace
  std::string kubeconfig;  // --kubeconfig; empty: $KUBECONFIG, ~/.kube/config, in-cluster
  // -n or --kubeconfig given: the target is a cluster's, even if a folder has its name.
  bool cluster = false;
};

struct Command {
  enum class Kind { kHelp, kVersion, kRun, kDescribe };
  Kind kind = Kind::kHelp;
  cli::RunFlags run;
  DescribeArgs describe;
};

// `args` are the arguments after the program name. InvalidArgument naming the
// argument for an unknown subcommand or option, a missing value or a missing target.
StatusOr<Command> ParseCommandLine(std::span<const std::string> args);

}  // namespace gotestrun::cli
