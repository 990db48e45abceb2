// Turns PJRT events into Promises without a thread-pool hop: `PJRT_Event_OnReady` callbacks
// (which run on plugin threads) post to the main thread through one long-lived thread-safe
// function per Node environment. Used for execution, the hot path; blocking calls (compile,
// client create, transfers) use PjrtWorker instead.
//
// Lifetime: an execution can outlive its environment (a worker thread that exits or is
// terminated while programs still run). Each execution in flight therefore holds its own
// reference to the environment's channel, which knows, under a mutex, whether Node has
// finalized the thread-safe function. An execution that completes after that is cleaned up
// (events destroyed, outputs freed, executable and client released) on pjrt-bert's own cleanup
// thread, never touching the freed environment, and never on the plugin's thread (releasing the
// last reference to a client there would join the thread pool that runs it).
#pragma once

#include <napi.h>

#include <functional>
#include <memory>
#include <vector>

#include "handles.h"

namespace pjrt {

/// Per-environment completion channel. Created once at module init, destroyed with the
/// environment's addon data.
class CompletionQueue {
 public:
  using Done = std::function<Napi::Value(Napi::Env)>;

  explicit CompletionQueue(Napi::Env env);
  ~CompletionQueue();

  /// Returns a Promise that settles once every event in `events` is ready: resolved with
  /// `done(env)` if all succeeded, else rejected with the first error. `discard` runs when the
  /// work's results will not be delivered (an error, or the environment is gone) to free what the
  /// work produced; it may run on any thread. Takes ownership of the events. Main thread only.
  Napi::Promise WhenReady(Napi::Env env, const PJRT_Api* api, std::vector<PJRT_Event*> events,
                          Done done, std::function<void()> discard);

 private:
  struct Channel;
  struct Pending;
  static void OnEventReady(PJRT_Error* error, void* user_arg);
  static void Deliver(Pending* pending);
  static void CallJs(napi_env env, napi_value, void*, void* data);
  static void Finalize(napi_env env, void* data, void*);
  static void Settle(Napi::Env env, Pending* pending);
  static void Discard(Pending* pending);

  std::shared_ptr<Channel> channel_;
};

}  // namespace pjrt
