#include "host_staging.h"

#include <cstdlib>

namespace pjrt {

StagingPool& StagingPool::Instance() {
  static StagingPool* pool = new StagingPool();  // never destroyed: blocks may return at exit
  return *pool;
}

void* StagingPool::Acquire(size_t bytes, size_t* capacity) {
  // Round up to 64 KiB so that arrays of nearly the same size share blocks.
  const size_t rounded = (bytes + 0xFFFF) & ~size_t{0xFFFF};
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = free_.lower_bound(rounded);
    if (it != free_.end() && it->first <= rounded + rounded / 4) {  // at most 25% slack
      void* block = it->second;
      *capacity = it->first;
      cached_bytes_ -= it->first;
      free_.erase(it);
      return block;
    }
  }
  *capacity = rounded;
  return std::aligned_alloc(64, rounded);
}

void StagingPool::Release(void* block, size_t capacity) {
  if (block == nullptr) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cached_bytes_ + capacity <= kMaxCachedBytes) {
      free_.emplace(capacity, block);
      cached_bytes_ += capacity;
      return;
    }
  }
  std::free(block);
}

}  // namespace pjrt
