// YAML manifests as the JSON the Kubernetes API takes.
//
// The conversion is the one Kubernetes applies itself (kubectl, and the API server for
// YAML bodies: sigs.k8s.io/yaml over go-yaml v2, which follows YAML 1.1), so that a
// manifest means here what it means to `kubectl apply`. The result equals what
// nlohmann::json reads from the JSON text that conversion writes:
//
//   - quoted, literal (|) and folded (>) scalars are strings;
//   - unquoted scalars are typed: ~, null, Null, NULL and nothing are null; true/false,
//     yes/no, on/off and y/n (in their lower, Title and UPPER forms) are booleans;
//     integers may be signed, 0x hex, 0o or leading-0 octal, 0b binary, with '_'
//     between digits; 1.5, .5, 1e3 are floats, and a float with an integral value
//     (1.0, 1e3) comes out as the integer JSON would print ("1", "1000");
//   - a number out of range for a float (1e999) stays a string; .inf and .nan are
//     refused, JSON has no form for them;
//   - explicit tags: !!str, !!int, !!float, !!bool, !!null and !!timestamp check and
//     type the value (`!!int abc` is refused); !!binary is base64-decoded; other tags
//     leave the text a string;
//   - mapping keys become strings: `1:` is "1", `true:` and `yes:` are "true", a float
//     key is written as Go writes a float32 ("1e+06"); null, sequence and mapping keys
//     are refused;
//   - merge keys (`<<: *base`, or a list of maps) copy entries in, entries written
//     later in the mapping win, and of a merged list the earlier maps win.
//
// Where this is stricter than Kubernetes: a key written twice in one mapping is refused
// (Kubernetes silently keeps the last; kubectl's strict mode refuses it too), a stream
// that is not UTF-8 is refused (go-yaml also reads UTF-16), and a document nested too
// deep or expanding into too many values through aliases is refused (see YamlLimits).
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace gotestrun::api {

using Json = nlohmann::json;

// Bounds on what one conversion builds, so that hostile input (a "billion laughs" of
// nested aliases, an alias that contains itself) fails instead of exhausting memory
// or the stack. Real manifests, CustomResourceDefinitions included, stay far below.
//
// A count of values alone does not bound memory: an alias to a long string repeats
// the whole string at each use, so a 1.4 KB document can expand to hundreds of MB.
// max_bytes bounds the text produced (scalars and keys, each alias use counted again)
// plus a fixed charge for every value.
struct YamlLimits {
  int max_depth = 512;                      // nested mappings and sequences
  size_t max_values = size_t{1} << 20;      // values produced, counting each alias expansion
  size_t max_bytes = size_t{64} << 20;      // text produced plus kValueCost per value
  static constexpr size_t kValueCost = 16;  // sizeof(nlohmann::json)
};

// One document. An empty stream, or a document holding nothing, is null. A stream with
// more than one document is refused (InvalidArgument): use YamlDocumentsToJson.
// Every error is InvalidArgument and says where: line, column and the path of keys.
StatusOr<Json> YamlToJson(std::string_view yaml, const YamlLimits& limits = {});

// Every document of a `---` separated stream, in order, leaving out the ones that are
// empty or null as kubectl does.
StatusOr<std::vector<Json>> YamlDocumentsToJson(std::string_view yaml, const YamlLimits& limits = {});

}  // namespace gotestrun::api
