#include "agent/stand_in.h"

#include <signal.h>

#include <atomic>

namespace gotestrun::agent {
namespace {

std::atomic<pid_t> g_child{0};

void ForwardSignal(int sig) {
  const pid_t child = g_child.load();
  if (child > 0) ::kill(child, sig);
}

}  // namespace

StandIn::StandIn(std::initializer_list<int> signals) : signals_(signals) {
  struct sigaction action {};
  action.sa_handler = ForwardSignal;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  for (int sig : signals_) ::sigaction(sig, &action, nullptr);
}

StatusOr<pid_t> StandIn::Spawn(sandbox::ChildSpec spec) {
  sigset_t forwarded, previous;
  sigemptyset(&forwarded);
  for (int sig : signals_) sigaddset(&forwarded, sig);
  ::pthread_sigmask(SIG_BLOCK, &forwarded, &previous);
  spec.held_signals = signals_;
  StatusOr<pid_t> pid = sandbox::SpawnChild(spec);
  if (pid.ok()) g_child.store(*pid);
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return pid;
}

sandbox::ExitInfo StandIn::Wait(pid_t pid) {
  const sandbox::ExitInfo end = sandbox::WaitChild(pid);
  g_child.store(0);
  return end;
}

}  // namespace gotestrun::agent
