// The run's final results as JUnit XML, for CI systems that show test reports.
//
// What it promises:
//  - Built from the status: only the attempts status.yaml lists count (an attempt
//    folder it does not list is left out); without a status, from the evidence alone.
//  - One <testsuite> per package (FinalResults order), built from the last attempt
//    that ran it: one <testcase> per test and subtest in its go test event stream, with
//    elapsed times; a failed test has a <failure type="TestFailed"> carrying its output,
//    a skipped one <skipped>.
//  - A package whose last attempt ended on an OOM kill and that never passed is a
//    failed testsuite: the tests running at the kill, or a "[OOM killed]" testcase when
//    none was, get <failure type="OOMKilled"> with the diagnosis summary as message and
//    the cause, evidence and top allocation sites in the text. A kill of a binary that
//    stalled at its memory limit (status MemoryStall) is <failure type="MemoryStall">,
//    "stalled at the limit" in its message, the testcase "[stalled at the limit]" when
//    no test ran. Any other package that
//    did not pass gets at least one <failure> (or <error type="NoResult"> for tests the
//    binary's end cut short), so no failed package looks green.
//  - The form of the common JUnit schema (Jenkins junit-10.xsd): testsuites/testsuite
//    with name, tests, failures, errors, skipped, time and timestamp; properties;
//    testcase with classname, name and time; failure, error and skipped; system-out.
//    Text is XML 1.0-escaped and valid UTF-8 (report/escape.h). Deterministic.
#pragma once

#include <string>

#include "report/run_folder.h"

namespace gotestrun::report {

std::string RenderJUnit(const LoadedRun& run);

}  // namespace gotestrun::report
