// The Pods of a GoTestRun, built from the run and a shard plan. Pure: the same inputs
// give the same Pod, so creating it again is harmless (AlreadyExists).
//
// Each Pod: `restartPolicy: Never`, owned by the GoTestRun (controller reference, so
// the garbage collector removes it with the run), labelled with run/shard/attempt; an
// init container copies the agent from the operator's image into an emptyDir (as
// Tekton's entrypoint does); the test container runs the agent in the user's image
// with the source volume and the shared profiles volume mounted, memory limit =
// request = the plan's memory. Every Pod meets the restricted Pod Security Standard
// (non-root user 65532, no privilege escalation, all capabilities dropped, seccomp
// RuntimeDefault; HOME and GOCACHE in an emptyDir so the go command can write its
// cache), mounts no service account token, and has an activeDeadlineSeconds so a hung
// agent cannot hold a node: a Pod ended by it is read as a timeout.
#pragma once

#include <string>

#include "core/api/gotestrun.h"
#include "core/engine/attempt_evidence.h"
#include "core/policy/plan.h"

namespace gotestrun::controllers {

using Json = nlohmann::json;

struct PodOptions {
  std::string agent_image = "ghcr.io/gotestrun/gotestrun-operator:latest";
  // Where the agent is inside agent_image (the init container runs it from there).
  std::string agent_path = "/usr/local/bin/gotestrun-agent";
};

// Mount points inside the test container.
inline constexpr char kAgentMount[] = "/gotestrun/bin";
inline constexpr char kProfilesMount[] = "/gotestrun/profiles";
inline constexpr char kSourceMount[] = "/workspace";
inline constexpr char kHomeMount[] = "/gotestrun/home";

// The user the containers run as: the operator image's (image/Dockerfile), a user no
// image is likely to give rights it should not have.
inline constexpr int64_t kRunAsUser = 65532;

inline constexpr char kRunLabel[] = "gotestrun.dev/run";
inline constexpr char kShardLabel[] = "gotestrun.dev/shard";
inline constexpr char kAttemptLabel[] = "gotestrun.dev/attempt";
inline constexpr char kRoleLabel[] = "gotestrun.dev/role";

std::string PlanningPodName(const std::string& run);

// activeDeadlineSeconds of a Pod testing `packages` packages (0: the planning Pod).
int64_t PodDeadlineSeconds(const api::GoTestRunSpec& spec, std::size_t packages);

// `run` is the GoTestRun object (for name, namespace, uid).
Json PlanningPod(const Json& run, const api::GoTestRunSpec& spec, const PodOptions& options);
Json AttemptPod(const Json& run, const api::GoTestRunSpec& spec, const policy::ShardPlan& plan,
                const PodOptions& options);

// True when the Pod has ended (Succeeded or Failed).
bool PodFinished(const Json& pod);

// How the Pod's test container ended, from its status: `terminated.reason: OOMKilled`
// and the exit code; the Pod's `reason: DeadlineExceeded` (its activeDeadlineSeconds).
engine::ContainerEnd ContainerEndOf(const Json& pod);

}  // namespace gotestrun::controllers
