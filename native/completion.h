// Turns PJRT events into Promises without a thread-pool hop: `PJRT_Event_OnReady` callbacks
// (which run on plugin threads) post to the main thread through one long-lived
// ThreadSafeFunction per Node environment. Used for execution, the hot path; blocking calls
// (compile, client create, transfers) use PjrtWorker instead.
#pragma once

#include <napi.h>

#include <functional>
#include <vector>

#include "handles.h"

namespace pjrt {

/// Per-environment completion channel. Created once at module init.
class CompletionQueue {
 public:
  using Done = std::function<Napi::Value(Napi::Env)>;

  explicit CompletionQueue(Napi::Env env);
  ~CompletionQueue();

  /// Returns a Promise that settles once every event in `events` is ready: resolved with
  /// `done(env)` if all succeeded, else rejected with the first error (and `on_error` runs, on
  /// the main thread, to release what the work produced). Takes ownership of the events.
  /// Must be called on the main thread.
  Napi::Promise WhenReady(Napi::Env env, const PJRT_Api* api, std::vector<PJRT_Event*> events,
                          Done done, std::function<void()> on_error);

 private:
  struct Pending;
  static void OnEventReady(PJRT_Error* error, void* user_arg);
  static void Settle(Napi::Env env, Napi::Function, CompletionQueue* queue, Pending* pending);
  void Finished(Napi::Env env);

  Napi::TypedThreadSafeFunction<CompletionQueue, Pending, &CompletionQueue::Settle> channel_;
  size_t in_flight_ = 0;  // main thread only: the channel keeps the loop alive while > 0
};

}  // namespace pjrt
