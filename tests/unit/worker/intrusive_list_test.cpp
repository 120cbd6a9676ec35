// IntrusiveList: one hook per list, so lists never disturb each other.
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
  EXPECT_FALSE(FirstList::contains(a));
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
  EXPECT_TRUE(SecondList::contains(b));
  EXPECT_FALSE(FirstList::contains(b));
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
