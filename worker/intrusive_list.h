// A doubly linked intrusive list: O(1) push, remove and move-to-back, no
// allocation. Used for the worker's timer lists (handshake, idle, ping,
// pong, closing...), each kept ordered by a timestamp that only grows.
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

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

// One hook for several lists an element is never in two of at once (the
// connection's phase lists: handshaking, idle, closing). It also records
// which list holds it, so a list only ever unlinks an element it holds:
// that is what keeps the lists' sizes right, which a plain hook shared by
// two lists once broke. A third pointer, where each list having a hook of
// its own would cost two per list.
template <typename T>
struct SharedListHook : ListHook<T> {
  const void* list = nullptr;  // the IntrusiveList holding the element, or null
  bool linked() const { return list != nullptr; }
};

// A list of T threaded through the member hook `Hook`, a ListHook<T> or a
// SharedListHook<T>. The hook is part of the list's type, so a list can
// only ever link, unlink or test its own hook: removing an element through
// another list's hook (which once corrupted the sizes of two lists that
// shared one) does not compile, and a shared hook says which of its lists
// holds the element.
template <typename T, auto Hook>
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
  // True when `element` is in this list.
  bool contains(const T& element) const {
    if constexpr (kShared) {
      return (element.*Hook).list == this;
    } else {
      return (element.*Hook).linked();
    }
  }

  // Appends `element`, which must not be in this list (nor, for a shared
  // hook, in another list of that hook).
  void push_back(T& element) {
    auto& hook = element.*Hook;
    if constexpr (kShared) hook.list = this;
    offset_ = reinterpret_cast<char*>(static_cast<ListHook<T>*>(&hook)) -
              reinterpret_cast<char*>(&element);
    hook.prev = head_.prev;
    hook.next = &head_;
    head_.prev->next = &hook;
    head_.prev = &hook;
    ++size_;
  }

  // Unlinks `element` if it is in this list; does nothing otherwise.
  void remove(T& element) {
    if (!contains(element)) return;
    auto& hook = element.*Hook;
    if constexpr (kShared) hook.list = nullptr;
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
  using HookType = std::remove_cvref_t<decltype(std::declval<T&>().*Hook)>;
  static constexpr bool kShared = std::is_same_v<HookType, SharedListHook<T>>;
  static_assert(kShared || std::is_same_v<HookType, ListHook<T>>);

  T* owner(ListHook<T>* hook) const {
    return reinterpret_cast<T*>(reinterpret_cast<char*>(hook) - offset_);
  }

  ListHook<T> head_;
  size_t size_ = 0;
  std::ptrdiff_t offset_ = 0;  // of the hook in T; the same for every element
};

}  // namespace wsgate
