// The product's version, from the top CMakeLists.txt's project(VERSION), printed by
// every binary's --version.
#pragma once

namespace gotestrun {

inline constexpr char kVersion[] = GTR_VERSION;

}  // namespace gotestrun
