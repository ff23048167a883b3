// The run report: one self-contained HTML page, for the person who opens it after
// `go test` died with "signal: killed".
//
// What the page shows, top to bottom: the run (name, phase, message, totals); why each
// diagnosed package needed its memory (cause, summary, evidence lines, the top in-use
// allocation sites of its last heap profile); the attempts as a timeline, one row per
// shard; each package's peak against the limits it was tried under; for each attempt
// its memory over time, with the limit and the OOM kill marked and the test binaries
// that ran; the packages, the retry log, and any file that could not be read.
//
// What it promises:
//  - Self-contained: inline CSS and script, no network access, no external fonts or
//    images. Tables and text are plain HTML (readable without script and in print);
//    the charts are SVG drawn by the inline script from data embedded in the page as
//    JSON, with a <noscript> note. Each chart's <figure> gets data-drawn="true" once
//    drawn ("empty" when there was nothing to draw).
//  - Safe: everything taken from the run is escaped for HTML (HtmlEscape) or for JSON
//    inside <script> (JsonForScript); invalid UTF-8 is replaced, never passed through.
//  - Deterministic: the same LoadedRun gives the same bytes (no clock is read).
#pragma once

#include <string>

#include "report/run_folder.h"

namespace gotestrun::report {

std::string RenderHtmlReport(const LoadedRun& run);

}  // namespace gotestrun::report
