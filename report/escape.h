// Text from a run (package and test names, messages, test output) made safe for the
// documents the report writes. Everything in a run folder is outside input: a package
// can be named "<script>", a test can print "</script>" or invalid UTF-8.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace gotestrun::report {

// Valid UTF-8: each byte sequence that is not valid UTF-8 (stray continuation bytes,
// overlong forms, surrogates, code points past U+10FFFF, a cut sequence) becomes
// U+FFFD. Control characters other than tab, newline and carriage return also become
// U+FFFD, since neither XML 1.0 nor HTML text may hold them.
std::string SanitizeText(std::string_view text);

// For HTML text and for attribute values in double or single quotes: & < > " ' as
// character references, after SanitizeText.
std::string HtmlEscape(std::string_view text);

// For XML 1.0 text and attribute values: & < > " ' as entities, after SanitizeText.
// Newlines and tabs are kept as they are in text; `in_attribute` writes them (and CR)
// as character references so that attribute normalization keeps them.
std::string XmlEscape(std::string_view text, bool in_attribute = false);

// JSON that can sit inside a <script> element of an HTML page: ASCII only, with
// < > & written as \u003c \u003e \u0026 (so no "</script>" or "<!--" can end or
// change the element) and U+2028 / U+2029 as \u2028 / \u2029 (line terminators to
// older JavaScript). Strings that are not valid UTF-8 are sanitized first. JSON.parse
// of the result gives back the value.
std::string JsonForScript(const nlohmann::json& value);

}  // namespace gotestrun::report
