// The style sheet and the chart script of the HTML report, inlined into every page.
#pragma once

#include <string_view>

namespace gotestrun::report {

extern const std::string_view kReportCss;
// Reads the JSON in <script id="gtr-data">, draws every <figure data-chart=...> as SVG
// and marks it data-drawn.
extern const std::string_view kReportJs;

}  // namespace gotestrun::report
