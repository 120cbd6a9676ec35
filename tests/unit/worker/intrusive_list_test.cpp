// IntrusiveList: one hook per list, or a shared hook that knows its list,
// so lists never disturb each other.
#include "worker/intrusive_list.h"

#include <gtest/gtest.h>

#include <vector>

namespace wsgate {
namespace {

struct Item {
  int id = 0;
  ListHook<Item> first_hook;
  ListHook<Item> second_hook;
};

using FirstList = IntrusiveList<Item, &Item::first_hook>;
using SecondList = IntrusiveList<Item, &Item::second_hook>;

template <typename List>
std::vector<int> ids(List& list) {
  std::vector<int> out;
  list.for_each([&](Item* item) { out.push_back(item->id); });
  return out;
}

TEST(IntrusiveList, KeepsInsertionOrderAndSize) {
  Item a{1}, b{2}, c{3};
  FirstList list;
  EXPECT_TRUE(list.empty());
  EXPECT_EQ(list.front(), nullptr);
  list.push_back(a);
  list.push_back(b);
  list.push_back(c);
  EXPECT_EQ(list.size(), 3u);
  EXPECT_EQ(list.front(), &a);
  EXPECT_EQ(ids(list), (std::vector<int>{1, 2, 3}));
}

TEST(IntrusiveList, MoveToBackReordersAndLinksUnlinked) {
  Item a{1}, b{2}, c{3};
  FirstList list;
  list.push_back(a);
  list.push_back(b);
  list.move_to_back(a);
  EXPECT_EQ(ids(list), (std::vector<int>{2, 1}));
  list.move_to_back(c);  // not linked yet: linked at the back
  EXPECT_EQ(ids(list), (std::vector<int>{2, 1, 3}));
  EXPECT_EQ(list.size(), 3u);
}

TEST(IntrusiveList, RemoveOfAnElementNotInTheListChangesNothing) {
  Item a{1}, b{2};
  FirstList list;
  list.push_back(a);
  list.remove(b);
  list.remove(b);
  EXPECT_EQ(list.size(), 1u);
  list.remove(a);
  list.remove(a);  // twice: still 0, never 2^64-1
  EXPECT_EQ(list.size(), 0u);
  EXPECT_TRUE(list.empty());
  EXPECT_FALSE(list.contains(a));
}

TEST(IntrusiveList, TwoListsOfTheSameElementsAreIndependent) {
  // The bug this type fixes: two lists sharing one hook, where removing an
  // element from the list it was not in unlinked it from the other and
  // decremented the wrong size (a list of 0 reported 2^64-2).
  Item a{1}, b{2};
  FirstList first;
  SecondList second;
  first.push_back(a);
  first.push_back(b);
  second.push_back(b);
  second.remove(a);  // a is not in `second`: nothing happens
  EXPECT_EQ(first.size(), 2u);
  EXPECT_EQ(second.size(), 1u);
  first.remove(b);
  EXPECT_EQ(ids(first), (std::vector<int>{1}));
  EXPECT_EQ(ids(second), (std::vector<int>{2}));
  EXPECT_TRUE(second.contains(b));
  EXPECT_FALSE(first.contains(b));
}

struct Phased {
  int id = 0;
  SharedListHook<Phased> hook;
};
using PhaseList = IntrusiveList<Phased, &Phased::hook>;

TEST(IntrusiveList, ListsSharingAHookTouchOnlyTheElementsTheyHold) {
  // The connection's phase lists share one hook: an element is in one of
  // them at a time, and removing it through another (leave_open_lists
  // removes from all of them) must change neither list.
  Phased a{1}, b{2}, c{3};
  PhaseList idle;
  PhaseList closing;
  idle.push_back(a);
  idle.push_back(b);
  closing.push_back(c);
  closing.remove(a);  // a is in `idle`
  closing.remove(b);
  idle.remove(c);  // c is in `closing`
  EXPECT_EQ(idle.size(), 2u);
  EXPECT_EQ(closing.size(), 1u);
  EXPECT_TRUE(idle.contains(a));
  EXPECT_FALSE(closing.contains(a));
  EXPECT_TRUE(closing.contains(c));
  // Moving from one to the other: out of the first, into the second.
  idle.remove(a);
  closing.push_back(a);
  EXPECT_EQ(idle.size(), 1u);
  EXPECT_EQ(closing.size(), 2u);
  std::vector<int> closing_ids;
  closing.for_each([&](Phased* p) { closing_ids.push_back(p->id); });
  EXPECT_EQ(closing_ids, (std::vector<int>{3, 1}));
  EXPECT_EQ(idle.front(), &b);
  idle.remove(b);
  idle.remove(b);
  EXPECT_TRUE(idle.empty());
  EXPECT_EQ(idle.size(), 0u);
  EXPECT_FALSE(b.hook.linked());
}

TEST(IntrusiveList, ForEachMayRemoveTheCurrentElement) {
  Item items[5];
  FirstList list;
  for (int i = 0; i < 5; ++i) {
    items[i].id = i;
    list.push_back(items[i]);
  }
  list.for_each([&](Item* item) {
    if (item->id % 2 == 0) list.remove(*item);
  });
  EXPECT_EQ(ids(list), (std::vector<int>{1, 3}));
  EXPECT_EQ(list.size(), 2u);
}

}  // namespace
}  // namespace wsgate
