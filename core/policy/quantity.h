// Kubernetes resource quantities for memory and CPU, read and written exactly.
//
// What this component promises:
//  - ParseMemoryQuantity accepts the whole Kubernetes quantity grammar
//    (k8s.io/apimachinery resource.Quantity): an optional sign, digits with an
//    optional decimal point ("1.5", "5.", ".5"), then one of the binary suffixes
//    Ki Mi Gi Ti Pi Ei, the decimal suffixes n u m k M G T P E, an exponent
//    ("e9", "E-3", "129e6") or nothing. The value is computed exactly (no floating
//    point) and a fraction of a byte rounds up, as resource.Quantity.Value() does.
//  - It rejects, with a message that quotes the input and says what is wrong: empty
//    text, text without a number, unknown suffixes ("1Gb", "1 Gi", "1K"), negative
//    amounts, and amounts above kMaxQuantityBytes (what Kubernetes can hold as an
//    integer).
//  - FormatMemoryQuantity writes bytes back with the largest binary suffix that keeps
//    the value exact: 671088640 -> "640Mi", 1610612736 -> "1536Mi", 1000 -> "1000".
//    ParseMemoryQuantity(FormatMemoryQuantity(b)) == b for every b it accepts.
//  - Pure functions: no allocation beyond the returned strings, no locale.
//
// Error code: InvalidArgument for every rejected input.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "base/status.h"

namespace gotestrun::policy {

// Memory amounts, in bytes, throughout the policy.
using Bytes = std::uint64_t;

inline constexpr Bytes kKiB = Bytes{1} << 10;
inline constexpr Bytes kMiB = Bytes{1} << 20;
inline constexpr Bytes kGiB = Bytes{1} << 30;

// Kubernetes keeps a quantity's integer value in an int64; a larger amount could not
// be written back into a pod spec.
inline constexpr Bytes kMaxQuantityBytes = static_cast<Bytes>(std::numeric_limits<std::int64_t>::max());

// "512Mi", "1.5Gi", "100M", "1e9", "128974848", "129e6" -> bytes.
StatusOr<Bytes> ParseMemoryQuantity(std::string_view text);

// A CPU quantity in thousandths of a core: "2" -> 2000, "500m" -> 500, "1.5" -> 1500,
// "0.1m" -> 1 (rounded up, as Kubernetes does for millicores). Same grammar and errors.
StatusOr<std::uint64_t> ParseCpuMillis(std::string_view text);

// Exact, in Kubernetes syntax, with the largest binary suffix that divides the value.
std::string FormatMemoryQuantity(Bytes bytes);

// For people, in reasons and diagnoses: exact when a binary suffix divides the value
// in at most four digits ("640Mi", "1200Mi"), otherwise one decimal in the largest
// unit not above it ("529.6Mi", "1.5Gi").
std::string FormatMemoryApprox(Bytes bytes);

// The Go runtime's GOMEMLIMIT syntax (B, KiB, MiB, GiB, TiB suffixes), exact:
// 482344960 -> "460MiB".
std::string FormatGoMemLimit(Bytes bytes);

}  // namespace gotestrun::policy
