// parse_faults: every fault name, slot numbers, and errors naming the item.
#include "common/faults.h"

#include <gtest/gtest.h>

namespace wsgate {
namespace {

TEST(Faults, EmptyMeansNone) {
  Faults faults;
  EXPECT_EQ(parse_faults("", faults), "");
  EXPECT_FALSE(faults.any());
  EXPECT_EQ(parse_faults(" , ,", faults), "");
  EXPECT_FALSE(faults.any());
}

TEST(Faults, EveryName) {
  Faults faults;
  ASSERT_EQ(parse_faults("new_worker_exit_before_ready, new_worker_never_ready,worker_fatal_exit,"
                         " no_respawn:3 ,no_respawn:0",
                         faults),
            "");
  EXPECT_TRUE(faults.new_worker_exit_before_ready);
  EXPECT_TRUE(faults.new_worker_never_ready);
  EXPECT_TRUE(faults.worker_fatal_exit);
  EXPECT_FALSE(faults.respawns(3));
  EXPECT_FALSE(faults.respawns(0));
  EXPECT_TRUE(faults.respawns(1));
  EXPECT_TRUE(faults.any());
}

TEST(Faults, ErrorsNameTheItem) {
  Faults faults;
  EXPECT_EQ(parse_faults("worker_fatal_exit,nope", faults),
            "WSGATE_FAULTS: unknown fault \"nope\" (known: new_worker_exit_before_ready, "
            "new_worker_never_ready, worker_fatal_exit, no_respawn:SLOT, accept_throw:N, "
            "log_queue_bytes:N, stream_backlog_bytes:N)");
  EXPECT_EQ(parse_faults("no_respawn:", faults),
            "WSGATE_FAULTS: \"no_respawn:\": SLOT must be a slot number");
  EXPECT_EQ(parse_faults("no_respawn:1x", faults),
            "WSGATE_FAULTS: \"no_respawn:1x\": SLOT must be a slot number");
  EXPECT_EQ(parse_faults("no_respawn:-1", faults),
            "WSGATE_FAULTS: \"no_respawn:-1\": SLOT must be a slot number");
  EXPECT_EQ(parse_faults("accept_throw:0", faults),
            "WSGATE_FAULTS: \"accept_throw:0\": N must be a count from 1");
}

TEST(Faults, StreamBacklogTakesAByteCount) {
  Faults faults;
  EXPECT_EQ(parse_faults("stream_backlog_bytes:16384", faults), "");
  EXPECT_EQ(faults.stream_backlog_bytes, 16384u);
  EXPECT_EQ(faults.log_queue_bytes, 0u);
  EXPECT_TRUE(faults.any());
  EXPECT_EQ(parse_faults("stream_backlog_bytes:0", faults),
            "WSGATE_FAULTS: \"stream_backlog_bytes:0\": N must be a byte count from 1");
}

TEST(Faults, AcceptThrowTakesTheCountOfTheAcceptThatThrows) {
  Faults faults;
  EXPECT_EQ(parse_faults("accept_throw:3", faults), "");
  EXPECT_EQ(faults.accept_throw, 3u);
  EXPECT_TRUE(faults.any());
}

}  // namespace
}  // namespace wsgate
