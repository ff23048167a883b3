#include "kube/runtime/store.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace gotestrun::runtime {
namespace {

using kube::Json;
using kube::WatchEventType;

Json Obj(const std::string& ns, const std::string& name, const std::string& rv) {
  return Json{{"metadata", {{"namespace", ns}, {"name", name}, {"resourceVersion", rv}}}};
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST(Store, ApplyAddsModifiesAndDeletes) {
  Store s;
  EXPECT_EQ(s.Apply(WatchEventType::kAdded, Obj("a", "x", "1")), "a/x");
  EXPECT_EQ(s.Apply(WatchEventType::kModified, Obj("a", "x", "2")), "a/x");
  ASSERT_NE(s.Get("a/x"), nullptr);
  EXPECT_EQ(kube::ResourceVersionOf(*s.Get("a/x")), "2");
  s.Apply(WatchEventType::kDeleted, Obj("a", "x", "3"));
  EXPECT_EQ(s.Get("a/x"), nullptr);
  EXPECT_EQ(s.size(), 0u);
}

TEST(Store, ObjectsWithoutANameAreIgnored) {
  Store s;
  EXPECT_EQ(s.Apply(WatchEventType::kAdded, Json{{"metadata", {{"name", 5}}}}), "");
  EXPECT_EQ(s.Apply(WatchEventType::kAdded, Json::array()), "");
  EXPECT_EQ(s.size(), 0u);
}

TEST(Store, ReplaceReportsAddedChangedAndRemovedKeys) {
  Store s;
  std::vector<Json> first = {Obj("a", "keep", "1"), Obj("a", "change", "1"), Obj("a", "drop", "1")};
  EXPECT_EQ(Sorted(s.Replace(std::move(first))), (std::vector<std::string>{"a/change", "a/drop", "a/keep"}));
  std::vector<Json> second = {Obj("a", "keep", "1"), Obj("a", "change", "5"), Obj("b", "new", "6")};
  EXPECT_EQ(Sorted(s.Replace(std::move(second))), (std::vector<std::string>{"a/change", "a/drop", "b/new"}));
  EXPECT_EQ(Sorted(s.Keys()), (std::vector<std::string>{"a/change", "a/keep", "b/new"}));
}

TEST(Store, SnapshotsOutliveReplacement) {
  Store s;
  s.Apply(WatchEventType::kAdded, Obj("a", "x", "1"));
  ObjectPtr held = s.Get("a/x");
  s.Replace({});
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(kube::ResourceVersionOf(*held), "1");
  EXPECT_EQ(s.Get("a/x"), nullptr);
}

}  // namespace
}  // namespace gotestrun::runtime
