// A doubly linked intrusive list: O(1) push, remove and move-to-back, no
// allocation. Used for the worker's timer lists (handshake, idle, ping,
// pong, closing...), each kept ordered by a timestamp that only grows.
#pragma once

#include <cstddef>

namespace wsgate {

// Embedded in the element, one hook per list the element can be in. Two
// pointers: the list finds the element from its hook by the hook's offset,
// which it learns from the first element it is given, so an element pays
// nothing more per list it can be in.
template <typename T>
struct ListHook {
  ListHook* prev = nullptr;
  ListHook* next = nullptr;
  bool linked() const { return prev != nullptr; }
};

// A list of T threaded through the member hook `Hook`. The hook is part of
// the list's type, so a list can only ever link, unlink or test its own
// hook: removing an element through another list's hook (which once
// corrupted the sizes of two lists that shared one) does not compile.
template <typename T, ListHook<T> T::*Hook>
class IntrusiveList {
 public:
  IntrusiveList() { head_.prev = head_.next = &head_; }
  IntrusiveList(const IntrusiveList&) = delete;
  IntrusiveList& operator=(const IntrusiveList&) = delete;

  bool empty() const { return head_.next == &head_; }
  size_t size() const { return size_; }
  T* front() const { return empty() ? nullptr : owner(head_.next); }
  // The element after `element` (which is in this list), or null.
  T* next(const T& element) const {
    const ListHook<T>* hook = (element.*Hook).next;
    return hook == &head_ ? nullptr : owner(const_cast<ListHook<T>*>(hook));
  }
  // True when `element` is in this list (its hook is this list's).
  static bool contains(const T& element) { return (element.*Hook).linked(); }

  // Appends `element`, which must not be in this list.
  void push_back(T& element) {
    ListHook<T>& hook = element.*Hook;
    offset_ = reinterpret_cast<char*>(&hook) - reinterpret_cast<char*>(&element);
    hook.prev = head_.prev;
    hook.next = &head_;
    head_.prev->next = &hook;
    head_.prev = &hook;
    ++size_;
  }

  // Unlinks `element` if it is in this list; does nothing otherwise.
  void remove(T& element) {
    ListHook<T>& hook = element.*Hook;
    if (!hook.linked()) return;
    hook.prev->next = hook.next;
    hook.next->prev = hook.prev;
    hook.prev = hook.next = nullptr;
    --size_;
  }

  // Moves `element` to the back, linking it if it was not in the list.
  void move_to_back(T& element) {
    remove(element);
    push_back(element);
  }

  // Calls fn(T*) for each element, front to back. fn may remove the
  // element it is given from this list, nothing else.
  template <typename Fn>
  void for_each(Fn&& fn) {
    for (ListHook<T>* h = head_.next; h != &head_;) {
      ListHook<T>* next = h->next;
      fn(owner(h));
      h = next;
    }
  }

 private:
  T* owner(ListHook<T>* hook) const {
    return reinterpret_cast<T*>(reinterpret_cast<char*>(hook) - offset_);
  }

  ListHook<T> head_;
  size_t size_ = 0;
  std::ptrdiff_t offset_ = 0;  // of the hook in T; the same for every element
};

}  // namespace wsgate
