// Host staging for host->device transfers on the CPU plugin, where "device" memory is host
// memory. Copying a JS array into a recycled, 64-byte aligned block and handing that block to
// PJRT zero-copy costs one warm memcpy; letting the plugin copy costs a fresh allocation whose
// page faults dominate (about 1 GB/s against 4-5 GB/s here). Blocks return to the pool when
// PJRT signals it is done with them (`done_with_host_buffer`), on any thread.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>

namespace pjrt {

/// A process-wide pool of aligned host blocks, bounded in the bytes it keeps cached.
class StagingPool {
 public:
  static StagingPool& Instance();

  /// A block of at least `bytes` bytes, 64-byte aligned (nullptr if allocation fails).
  void* Acquire(size_t bytes, size_t* capacity);
  /// Returns a block obtained from Acquire with the capacity it reported. Thread-safe.
  void Release(void* block, size_t capacity);

 private:
  static constexpr size_t kMaxCachedBytes = size_t{512} << 20;
  std::mutex mutex_;
  std::multimap<size_t, void*> free_;  // capacity -> block
  size_t cached_bytes_ = 0;
};

}  // namespace pjrt
