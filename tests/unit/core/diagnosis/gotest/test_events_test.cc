#include "core/diagnosis/gotest/test_events.h"

#include <string>

#include <gtest/gtest.h>

namespace gotestrun::gotest {
namespace {

TEST(ParseTestEventTest, OutputEvent) {
  const auto event =
      ParseTestEvent(R"({"Time":"2026-11-28T18:16:36.204014734Z","Action":"output","Package":"example.com/p",)"
                     R"("Test":"TestA","Output":"=== RUN   TestA\n"})");
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->time, "2026-11-28T18:16:36.204014734Z");
  EXPECT_EQ(event->action, TestAction::kOutput);
  EXPECT_EQ(event->action_name, "output");
  EXPECT_EQ(event->package, "example.com/p");
  EXPECT_EQ(event->test, "TestA");
  EXPECT_EQ(event->output, "=== RUN   TestA\n");
  EXPECT_FALSE(event->elapsed_seconds.has_value());
  EXPECT_FALSE(event->is_build_event());
}

TEST(ParseTestEventTest, FailWithElapsedAndFailedBuild) {
  const auto event = ParseTestEvent(R"({"Action":"fail","Package":"example.com/p","Elapsed":0.25,)"
                                    R"("FailedBuild":"example.com/p [example.com/p.test]"})");
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->action, TestAction::kFail);
  EXPECT_EQ(event->elapsed_seconds, 0.25);
  EXPECT_EQ(event->failed_build, "example.com/p [example.com/p.test]");
  EXPECT_TRUE(event->time.empty());
  EXPECT_FALSE(event->output.has_value());
}

TEST(ParseTestEventTest, BuildEvents) {
  const auto output = ParseTestEvent(
      R"({"ImportPath":"example.com/p [example.com/p.test]","Action":"build-output","Output":"# example.com/p\n"})");
  ASSERT_TRUE(output.ok()) << output.status();
  EXPECT_EQ(output->action, TestAction::kBuildOutput);
  EXPECT_EQ(output->import_path, "example.com/p [example.com/p.test]");
  EXPECT_TRUE(output->package.empty());
  EXPECT_TRUE(output->is_build_event());

  const auto fail = ParseTestEvent(R"({"ImportPath":"example.com/p.test","Action":"build-fail"})");
  ASSERT_TRUE(fail.ok()) << fail.status();
  EXPECT_EQ(fail->action, TestAction::kBuildFail);
  EXPECT_TRUE(fail->is_build_event());
}

TEST(ParseTestEventTest, AttrAndArtifacts) {
  const auto attr = ParseTestEvent(R"({"Action":"attr","Package":"p","Test":"TestA","Key":"issue","Value":"42"})");
  ASSERT_TRUE(attr.ok()) << attr.status();
  EXPECT_EQ(attr->action, TestAction::kAttr);
  EXPECT_EQ(attr->key, "issue");
  EXPECT_EQ(attr->value, "42");

  const auto artifacts = ParseTestEvent(R"({"Action":"artifacts","Package":"p","Test":"TestA","Path":"/tmp/a"})");
  ASSERT_TRUE(artifacts.ok()) << artifacts.status();
  EXPECT_EQ(artifacts->action, TestAction::kArtifacts);
  EXPECT_EQ(artifacts->path, "/tmp/a");
}

TEST(ParseTestEventTest, EveryKnownActionRoundTrips) {
  for (const char* name : {"start", "run", "pause", "cont", "pass", "bench", "fail", "output", "skip", "attr",
                           "artifacts", "build-output", "build-fail"}) {
    EXPECT_NE(TestActionFromName(name), TestAction::kUnknown) << name;
    EXPECT_EQ(TestActionName(TestActionFromName(name)), name);
  }
}

TEST(ParseTestEventTest, UnknownActionIsKeptByName) {
  const auto event = ParseTestEvent(R"({"Action":"teleport","Package":"p"})");
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->action, TestAction::kUnknown);
  EXPECT_EQ(event->action_name, "teleport");
}

TEST(ParseTestEventTest, UnknownFieldsAreIgnored) {
  const auto event =
      ParseTestEvent(R"({"Action":"pass","Package":"p","Test":"T","Shard":{"n":[1,2]},"Future":true,"Elapsed":1})");
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->action, TestAction::kPass);
  EXPECT_EQ(event->elapsed_seconds, 1.0);
}

TEST(ParseTestEventTest, FieldOfTheWrongTypeIsAbsent) {
  const auto event = ParseTestEvent(R"({"Action":"pass","Package":7,"Test":null,"Elapsed":"1s","Output":["x"]})");
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_TRUE(event->package.empty());
  EXPECT_TRUE(event->test.empty());
  EXPECT_FALSE(event->elapsed_seconds.has_value());
  EXPECT_FALSE(event->output.has_value());
}

TEST(ParseTestEventTest, EscapesAreDecoded) {
  const auto event = ParseTestEvent(R"({"Action":"output","Package":"p","Output":"4-\u003e4 MB\ttab \"q\"\n"})");
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->output, "4->4 MB\ttab \"q\"\n");
}

TEST(ParseTestEventTest, RejectsWhatIsNotAnEvent) {
  for (const std::string& line : {
           std::string(""),
           std::string("ok  \texample.com/p\t0.01s"),
           std::string(R"({"Action":"output","Package":"p","Outp)"),  // truncated
           std::string(R"({"Action":"pass"} trailing)"),
           std::string(R"(["Action","pass"])"),
           std::string(R"("pass")"),
           std::string(R"({"Package":"p"})"),
           std::string(R"({"Action":3})"),
           std::string("{\"Action\":\"output\",\"Output\":\"\xff\xfe\"}"),  // not UTF-8
           std::string(100000, '['),
       }) {
    const auto event = ParseTestEvent(line);
    EXPECT_FALSE(event.ok()) << line.substr(0, 80);
    EXPECT_EQ(event.status().code(), StatusCode::kInvalidArgument) << line.substr(0, 80);
  }
}

}  // namespace
}  // namespace gotestrun::gotest
