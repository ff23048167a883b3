// Text from outside (package and test names, messages, diagnosis evidence, anything
// read back from a status.yaml) made safe to print on a terminal. A status file or a
// test's output can hold escape sequences that clear the screen, set the window title,
// write hyperlinks or move the cursor over earlier lines; printed as they are, they
// would act on the reader's terminal instead of being read.
#pragma once

#include <string>
#include <string_view>

namespace gotestrun {

// `text` with every C0 control character other than newline and tab (so ESC, BEL, CR,
// backspace), DEL and every C1 control character (U+0080..U+009F, which 8-bit
// terminals also read as CSI, OSC, ...) written as a visible escape: \x1b, \x7f,
// \u009b. Bytes that are not valid UTF-8 are written as \xNN, since a terminal might
// read a lone 0x9b as CSI. Everything else, including valid multi-byte UTF-8, is kept.
// `keep_newlines` false also escapes '\n', for text that must stay on one line.
std::string TerminalText(std::string_view text, bool keep_newlines = true);

}  // namespace gotestrun
