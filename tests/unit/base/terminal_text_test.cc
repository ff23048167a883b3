// base/terminal_text.h: outside text printed on a terminal acts on nothing.
#include "base/terminal_text.h"

#include <gtest/gtest.h>

namespace gotestrun {
namespace {

TEST(TerminalText, PlainTextAndUtf8AreKept) {
  EXPECT_EQ(TerminalText("pkg/a: TestX\tpassed\nnext"), "pkg/a: TestX\tpassed\nnext");
  EXPECT_EQ(TerminalText("h\u00e9ap \u2588 \U0001F600"), "h\u00e9ap \u2588 \U0001F600");
}

TEST(TerminalText, EscapeSequencesBecomeVisible) {
  // Clear screen, window title (OSC 0 ended by BEL), hyperlink (OSC 8 ended by ST).
  EXPECT_EQ(TerminalText("\x1b[2J\x1b[H"), "\\x1b[2J\\x1b[H");
  EXPECT_EQ(TerminalText("\x1b]0;pwned\x07"), "\\x1b]0;pwned\\x07");
  EXPECT_EQ(TerminalText("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\"), "\\x1b]8;;http://x\\x1b\\link\\x1b]8;;\\x1b\\");
  EXPECT_EQ(TerminalText(std::string("a\rb\bc\x7f\0d", 8)), "a\\x0db\\x08c\\x7f\\x00d");
}

TEST(TerminalText, C1ControlsAndStrayBytesBecomeVisible) {
  EXPECT_EQ(TerminalText("\xc2\x9b"
                         "2J"),
            "\\u009b2J");  // CSI as UTF-8
  EXPECT_EQ(TerminalText("\xc2\x9d"
                         "0;t"),
            "\\u009d0;t");  // OSC as UTF-8
  EXPECT_EQ(TerminalText("\x9b"
                         "2J"),
            "\\x9b2J");                               // CSI as a raw 8-bit byte
  EXPECT_EQ(TerminalText("\xe2\x82"), "\\xe2\\x82");  // a cut sequence
  EXPECT_EQ(TerminalText("\xc0\x9b"), "\\xc0\\x9b");  // an overlong form
}

TEST(TerminalText, NewlinesEscapedForOneLineText) { EXPECT_EQ(TerminalText("a\nb\tc", false), "a\\x0ab\tc"); }

}  // namespace
}  // namespace gotestrun
