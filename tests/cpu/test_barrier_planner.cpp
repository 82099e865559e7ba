// The barrier planner on hand-made access lists: hazards caught, needless barriers avoided.
#include <gtest/gtest.h>

#include "graph/barrier_planner.hpp"

namespace vkres::graph {
namespace {

RangeAccess read(uint64_t buffer, uint64_t begin, uint64_t end) { return {buffer, begin, end, false}; }
RangeAccess write(uint64_t buffer, uint64_t begin, uint64_t end) { return {buffer, begin, end, true}; }

std::vector<bool> plan(const std::vector<std::vector<RangeAccess>>& d) { return plan_barriers(d, SyncMode::planned); }

TEST(BarrierPlanner, ReadAfterWriteNeedsABarrier) {
  EXPECT_EQ(plan({{write(1, 0, 64)}, {read(1, 0, 64)}}), (std::vector<bool>{false, true}));
}

TEST(BarrierPlanner, IndependentDispatchesShareAnInterval) {
  // Two producers into disjoint ranges of one buffer, then one consumer of both.
  auto b = plan({{read(1, 0, 64), write(2, 0, 32)}, {read(1, 0, 64), write(2, 32, 64)}, {read(2, 0, 64)}});
  EXPECT_EQ(b, (std::vector<bool>{false, false, true}));
}

TEST(BarrierPlanner, ReadsNeverConflictWithReads) {
  EXPECT_EQ(plan({{read(1, 0, 64)}, {read(1, 0, 64)}, {read(1, 16, 32)}}), (std::vector<bool>{false, false, false}));
}

TEST(BarrierPlanner, WriteAfterReadOnAliasedMemoryIsCaught) {
  // Tensor A (bytes 0..100) dies after dispatch 1 reads it; the memory planner gives its bytes to
  // tensor B (bytes 64..128), which dispatch 2 writes: a WAR hazard on the shared bytes 64..100.
  auto b = plan({{write(7, 0, 100)}, {read(7, 0, 100), write(8, 0, 16)}, {write(7, 64, 128)}});
  EXPECT_EQ(b, (std::vector<bool>{false, true, true}));
}

TEST(BarrierPlanner, WriteAfterWriteIsCaught) {
  EXPECT_EQ(plan({{write(1, 0, 8)}, {write(1, 4, 12)}}), (std::vector<bool>{false, true}));
}

TEST(BarrierPlanner, AdjacentRangesDoNotOverlap) {
  EXPECT_EQ(plan({{write(1, 0, 8)}, {read(1, 8, 16)}}), (std::vector<bool>{false, false}));
}

TEST(BarrierPlanner, OtherBuffersDoNotConflict) {
  EXPECT_EQ(plan({{write(1, 0, 8)}, {read(2, 0, 8)}}), (std::vector<bool>{false, false}));
}

TEST(BarrierPlanner, ABarrierOrdersEverythingBeforeIt) {
  // After the barrier before dispatch 2, dispatch 3 reading what dispatch 0 wrote needs none.
  auto b = plan({{write(1, 0, 8)}, {write(2, 0, 8)}, {read(2, 0, 8)}, {read(1, 0, 8)}});
  EXPECT_EQ(b, (std::vector<bool>{false, false, true, false}));
}

TEST(BarrierPlanner, FullModeSeparatesEveryDispatch) {
  auto b = plan_barriers({{read(1, 0, 8)}, {read(2, 0, 8)}, {read(3, 0, 8)}}, SyncMode::full);
  EXPECT_EQ(b, (std::vector<bool>{false, true, true}));
}

TEST(BarrierPlanner, ReadWriteOfOneBindingInOneDispatchIsNotAHazard) {
  EXPECT_EQ(plan({{read(1, 0, 8), write(1, 0, 8)}}), (std::vector<bool>{false}));
}

}  // namespace
}  // namespace vkres::graph
