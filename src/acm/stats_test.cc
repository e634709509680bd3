// SPDX-License-Identifier: Apache-2.0
//
// Statistics are counted per thread slot and summed by stats(): counts from several threads, from
// more threads than there are slots (the shared slot), and from exited threads whose slots were
// reused must all sum exactly.
#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <thread>
#include <vector>

#include "acm_test_fixture.h"
#include "thread_slot.h"

namespace shype::acm {
namespace {

using testing::AcmFixture;
using testing::ClientV1Spec;

constexpr std::uint64_t kRounds = 500;

class StatsTest : public AcmFixture {
 protected:
  void SetUp() override {
    Load(ClientV1Spec());
    Start(2, "dom_Fun");
    Start(3, "dom_NetworkDomain");  // shares a type with dom_Fun
    Start(4, "dom_BoincClient");    // shares none with dom_Fun
  }
  // One round: a permit and a denial on the doorbell hook, one resource permit (dom_Fun and
  // hda2 share ste_InternetInsecure).
  void Round() {
    EXPECT_EQ(acm.CheckShare(DomainId{2}, DomainId{3}, ShareKind::kDoorbell), Decision::kPermit);
    EXPECT_EQ(acm.CheckShare(DomainId{2}, DomainId{4}, ShareKind::kDoorbell), Decision::kDeny);
    EXPECT_EQ(acm.CheckResourceAccess(DomainId{2}, Res("res_LogicalDiskPartition2(hda2)"),
                                      ResourceKind::kDisk),
              Decision::kPermit);
  }
  // Every decision is either evaluated or a cache hit; every denial is counted once.
  void ExpectRounds(std::uint64_t rounds) {
    const AcmStats stats = acm.stats();
    const HookStats& doorbell = stats.of(Hook::kDoorbell);
    const HookStats& resource = stats.of(Hook::kResource);
    EXPECT_EQ(doorbell.evaluations + doorbell.cache_hits, 2 * rounds);
    EXPECT_EQ(doorbell.denials, rounds);
    EXPECT_EQ(resource.evaluations + resource.cache_hits, rounds);
    EXPECT_EQ(resource.denials, 0U);
    EXPECT_GE(doorbell.evaluations, 2U);  // each pair computed at least once
  }
};

TEST_F(StatsTest, CountsFromSeveralThreadsSumExactly) {
  constexpr std::uint64_t kThreads = 4;
  {
    std::vector<std::jthread> threads;
    for (std::uint64_t t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        for (std::uint64_t i = 0; i < kRounds; ++i) Round();
      });
    }
  }
  ExpectRounds(kThreads * kRounds);
}

TEST_F(StatsTest, CountsStayExactWhenMoreThreadsRunThanThereAreSlots) {
  // All threads hold their slot at once (the latch), so the last ones share the atomic slot.
  constexpr std::uint64_t kThreads = kThreadSlots + 8;
  std::latch all_counted(static_cast<std::ptrdiff_t>(kThreads));
  std::atomic<std::uint64_t> shared{0};
  {
    std::vector<std::jthread> threads;
    for (std::uint64_t t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        Round();
        if (detail::tls_thread_slot == kSharedThreadSlot) shared.fetch_add(1);
        all_counted.arrive_and_wait();
        for (std::uint64_t i = 1; i < kRounds / 10; ++i) Round();
      });
    }
  }
  EXPECT_GE(shared.load(), kThreads - kThreadSlots);
  ExpectRounds(kThreads * (kRounds / 10));
}

TEST_F(StatsTest, CountsSurviveThreadExitAndSlotsAreReused) {
  constexpr std::uint64_t kGenerations = 3 * kThreadSlots;
  for (std::uint64_t g = 0; g < kGenerations; ++g) {
    std::jthread([&] {
      for (std::uint64_t i = 0; i < 10; ++i) Round();
    }).join();
  }
  ExpectRounds(kGenerations * 10);
  std::uint32_t slot = kNoThreadSlot;
  std::jthread([&] {
    Round();
    slot = detail::tls_thread_slot;
  }).join();
  EXPECT_LT(slot, kThreadSlots);  // an exited thread's slot was free again
  ExpectRounds(kGenerations * 10 + 1);
}

}  // namespace
}  // namespace shype::acm
