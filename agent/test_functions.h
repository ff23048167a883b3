// How many top-level tests go test runs in a package, counted from its test files: a
// kill during test 3 of 8 then projects the memory of the 5 still to come, where
// without the count the diagnosis can only assume as many again as had started.
//
// go test runs, in each test binary, every `func TestXxx(t *testing.T)`, every fuzz
// target `func FuzzXxx(f *testing.F)` (on its seed corpus) and every example with an
// output comment; "Xxx" does not start with a lower-case letter (go's isTest). The
// count is read from gofmt'd source line by line, not type-checked: where a file could
// declare tests the reading would miss (the testing package imported under another
// name), the count is unknown rather than low, since a low count projects too little.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace gotestrun::agent {

// The top-level tests one test file declares; nullopt when the file imports
// "testing" under another name (or with a dot), so that tests could hide from a
// textual reading.
std::optional<int> CountTopLevelTests(std::string_view source);

// The sum over the package's test files (names relative to `dir`, as go list gives
// them); nullopt when one cannot be read (or is over `max_file_bytes`) or its count is
// unknown.
std::optional<int> CountPackageTests(const std::string& dir, const std::vector<std::string>& files,
                                     std::size_t max_file_bytes = std::size_t{16} << 20);

}  // namespace gotestrun::agent
