// The events command's arguments (EventHub::parse_request).
#include "supervisor/event_hub.h"

#include <gtest/gtest.h>

namespace wsgate::supervisor {
namespace {

TEST(EventHub, ParsesFollowAndRoute) {
  EventHub::Request request;
  std::string error;
  ASSERT_TRUE(EventHub::parse_request("", request, error));
  EXPECT_FALSE(request.follow);
  EXPECT_EQ(request.route, "");
  ASSERT_TRUE(EventHub::parse_request(" follow  route=/echo", request, error));
  EXPECT_TRUE(request.follow);
  EXPECT_EQ(request.route, "/echo");
}

TEST(EventHub, RefusesAnythingElse) {
  for (const char* arguments : {" loudly", " route=", " follow=1", " Route=/x"}) {
    EventHub::Request request;
    std::string error;
    EXPECT_FALSE(EventHub::parse_request(arguments, request, error)) << arguments;
    EXPECT_NE(error.find("(arguments: follow, route=PATH)"), std::string::npos) << error;
  }
}

}  // namespace
}  // namespace wsgate::supervisor
