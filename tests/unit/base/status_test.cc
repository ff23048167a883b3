#include "base/status.h"

#include <gtest/gtest.h>

namespace gotestrun {
namespace {

TEST(Status, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(Status, AnnotateKeepsCodeAndReason) {
  Status s(StatusCode::kAborted, "object was modified", "Conflict");
  Status a = s.Annotate("update configmap default/x");
  EXPECT_EQ(a.code(), StatusCode::kAborted);
  EXPECT_EQ(a.reason(), "Conflict");
  EXPECT_EQ(a.message(), "update configmap default/x: object was modified");
  EXPECT_EQ(a.ToString(), "Aborted (Conflict): update configmap default/x: object was modified");
}

TEST(StatusOr, HoldsValueOrError) {
  StatusOr<int> v = 3;
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 3);
  StatusOr<int> e = NotFoundError("gone");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kNotFound);
}

TEST(StatusOr, OkStatusIsNotAValue) {
  StatusOr<int> e = Status::Ok();
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace gotestrun
