// A doubly linked intrusive list: O(1) push, remove and move-to-back, no
// allocation. Used for the worker's timer lists (handshake, idle, ping,
// pong, closing), each kept ordered by a timestamp that only grows.
#pragma once

#include <cstddef>

namespace wsgate {

// Embedded in the element. `owner` points back at it, so no offset tricks
// are needed. A hook belongs to at most one list at a time.
template <typename T>
struct ListHook {
  ListHook* prev = nullptr;
  ListHook* next = nullptr;
  T* owner = nullptr;
  bool linked() const { return prev != nullptr; }
};

template <typename T>
class IntrusiveList {
 public:
  IntrusiveList() { head_.prev = head_.next = &head_; }
  IntrusiveList(const IntrusiveList&) = delete;
  IntrusiveList& operator=(const IntrusiveList&) = delete;

  bool empty() const { return head_.next == &head_; }
  size_t size() const { return size_; }
  T* front() const { return empty() ? nullptr : head_.next->owner; }

  // Appends `hook` (which must not be linked).
  void push_back(ListHook<T>& hook) {
    hook.prev = head_.prev;
    hook.next = &head_;
    head_.prev->next = &hook;
    head_.prev = &hook;
    ++size_;
  }

  // Unlinks `hook` if it is linked (in this list: hooks are never shared).
  void remove(ListHook<T>& hook) {
    if (!hook.linked()) return;
    hook.prev->next = hook.next;
    hook.next->prev = hook.prev;
    hook.prev = hook.next = nullptr;
    --size_;
  }

  void move_to_back(ListHook<T>& hook) {
    remove(hook);
    push_back(hook);
  }

  // Calls fn(T*) for each element, front to back. fn may remove the
  // element it is given, nothing else.
  template <typename Fn>
  void for_each(Fn&& fn) {
    for (ListHook<T>* h = head_.next; h != &head_;) {
      ListHook<T>* next = h->next;
      fn(h->owner);
      h = next;
    }
  }

 private:
  ListHook<T> head_;
  size_t size_ = 0;
};

}  // namespace wsgate
