#pragma once

// An ordered list of pages with O(1) lookup, move-to-front and removal: the structure
// FIFO, LRU and the active/inactive lists share. Front is the most recent end.

#include <list>
#include <optional>
#include <unordered_map>

#include "ossim/kernel/page_replacement.hpp"

namespace ossim::kernel {

class PageList {
 public:
  bool contains(PageKey page) const { return where_.count(page) != 0; }
  std::size_t size() const { return order_.size(); }
  bool empty() const { return order_.empty(); }
  void push_front(PageKey page) {
    order_.push_front(page);
    where_[page] = order_.begin();
  }
  void move_to_front(PageKey page) { order_.splice(order_.begin(), order_, where_.at(page)); }
  bool erase(PageKey page) {
    auto it = where_.find(page);
    if (it == where_.end()) return false;
    order_.erase(it->second);
    where_.erase(it);
    return true;
  }
  PageKey back() const { return order_.back(); }
  PageKey pop_back() {
    const PageKey page = order_.back();
    erase(page);
    return page;
  }

 private:
  std::list<PageKey> order_;
  std::unordered_map<PageKey, std::list<PageKey>::iterator> where_;
};

}  // namespace ossim::kernel
