#include "completion.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "js_glue.h"

namespace pjrt {
namespace {

/// One process-wide thread that runs the cleanup of executions whose environment is gone.
/// Started on first use; never joined (it waits on a condition variable when idle, and the
/// instance stays reachable so it is not reported as a leak).
class CleanupThread {
 public:
  static void Run(std::function<void()> task) {
    static CleanupThread* instance = new CleanupThread();
    std::lock_guard<std::mutex> lock(instance->mutex_);
    instance->tasks_.push_back(std::move(task));
    instance->wake_.notify_one();
  }

 private:
  CleanupThread() { std::thread([this] { Loop(); }).detach(); }

  void Loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return !tasks_.empty(); });
      std::function<void()> task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      task = nullptr;  // release what it captured before waiting again
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
};

/// Promises of executions whose environment went away before they were settled. Node offers no
/// call to free a `napi_deferred` without its environment (only resolving or rejecting does),
/// so each is kept here, reachable, rather than lost: a few bytes per orphaned execution.
void ParkDeferred(napi_deferred deferred) {
  static std::mutex* mutex = new std::mutex();
  static std::vector<napi_deferred>* parked = new std::vector<napi_deferred>();
  std::lock_guard<std::mutex> lock(*mutex);
  parked->push_back(deferred);
}

void DestroyEvents(const PJRT_Api* api, std::vector<PJRT_Event*>& events) {
  for (PJRT_Event*& event : events) {
    if (event == nullptr) continue;
    PJRT_ARGS(PJRT_Event_Destroy, destroy);
    destroy.event = event;
    PJRT_CALL(api, PJRT_Event_Destroy, &destroy);
    event = nullptr;
  }
}

}  // namespace

/// Shared by the environment's CompletionQueue, every execution in flight, and the
/// thread-safe function's finalizer, so whichever goes last frees it.
struct CompletionQueue::Channel {
  std::mutex mutex;
  /// Null once Node has finalized it (environment teardown) or the queue released it: from then
  /// on nobody may call it. Guarded by `mutex`.
  napi_threadsafe_function tsfn = nullptr;
  /// Executions registered and not yet settled; while > 0 the channel keeps the event loop
  /// alive. Main thread only.
  size_t referenced = 0;
};

struct CompletionQueue::Pending {
  std::shared_ptr<Channel> channel;  // this execution's own reference
  napi_deferred deferred;
  const PJRT_Api* api;
  std::vector<PJRT_Event*> events;
  Done done;
  std::function<void()> discard;
  std::atomic<size_t> remaining{0};
  std::mutex mutex;
  Status status;  // first failure, guarded by mutex
};

CompletionQueue::CompletionQueue(Napi::Env env) : channel_(std::make_shared<Channel>()) {
  auto* finalize_data = new std::shared_ptr<Channel>(channel_);
  napi_status status = napi_create_threadsafe_function(
      env, nullptr, nullptr, Napi::String::New(env, "pjrt.completions"), 0, 1, finalize_data,
      &CompletionQueue::Finalize, nullptr, &CompletionQueue::CallJs, &channel_->tsfn);
  if (status != napi_ok) {
    delete finalize_data;
    NAPI_THROW_VOID(Napi::Error::New(env, "pjrt-bert: could not create the completion channel"));
  }
  napi_unref_threadsafe_function(env, channel_->tsfn);  // idle: do not keep the process alive
}

CompletionQueue::~CompletionQueue() {
  std::lock_guard<std::mutex> lock(channel_->mutex);
  if (channel_->tsfn == nullptr) return;  // Node finalized it already
  napi_release_threadsafe_function(channel_->tsfn, napi_tsfn_release);
  channel_->tsfn = nullptr;  // released: completions that arrive later are cleaned up off-thread
}

void CompletionQueue::Finalize(napi_env, void* data, void*) {
  std::unique_ptr<std::shared_ptr<Channel>> channel(static_cast<std::shared_ptr<Channel>*>(data));
  std::lock_guard<std::mutex> lock((*channel)->mutex);
  (*channel)->tsfn = nullptr;  // Node deletes it once this returns
}

Napi::Promise CompletionQueue::WhenReady(Napi::Env env, const PJRT_Api* api,
                                         std::vector<PJRT_Event*> events, Done done,
                                         std::function<void()> discard) {
  napi_deferred deferred = nullptr;
  napi_value promise_value = nullptr;
  NAPI_THROW_IF_FAILED(env, napi_create_promise(env, &deferred, &promise_value), Napi::Promise());
  auto* pending = new Pending{channel_, deferred, api, std::move(events), std::move(done), std::move(discard)};
  Napi::Promise promise(env, promise_value);
  // Fast path: everything already finished (small programs run inline on the CPU plugin).
  bool all_ready = true;
  for (PJRT_Event* event : pending->events) {
    PJRT_ARGS(PJRT_Event_IsReady, ready);
    ready.event = event;
    if (!PJRT_CALL(api, PJRT_Event_IsReady, &ready).ok() || !ready.is_ready) {
      all_ready = false;
      break;
    }
  }
  if (all_ready) {
    for (PJRT_Event*& event : pending->events) {
      Status status = AwaitAndDestroyEvent(api, event);  // ready: returns at once
      event = nullptr;
      if (pending->status.ok() && !status.ok()) pending->status = status;
    }
    Settle(env, pending);
    return promise;
  }
  {
    std::lock_guard<std::mutex> lock(channel_->mutex);
    if (channel_->referenced++ == 0 && channel_->tsfn != nullptr) {
      napi_ref_threadsafe_function(env, channel_->tsfn);
    }
  }
  pending->remaining = pending->events.size() + 1;  // +1 until every callback is registered
  for (PJRT_Event* event : pending->events) {
    PJRT_ARGS(PJRT_Event_OnReady, on_ready);
    on_ready.event = event;
    on_ready.callback = &CompletionQueue::OnEventReady;
    on_ready.user_arg = pending;
    Status status = PJRT_CALL(api, PJRT_Event_OnReady, &on_ready);
    if (!status.ok()) {  // count it as finished, with this failure
      {
        std::lock_guard<std::mutex> lock(pending->mutex);
        if (pending->status.ok()) pending->status = status;
      }
      if (--pending->remaining == 0) Deliver(pending);
    }
  }
  if (--pending->remaining == 0) Deliver(pending);
  return promise;
}

void CompletionQueue::OnEventReady(PJRT_Error* error, void* user_arg) {
  auto* pending = static_cast<Pending*>(user_arg);
  if (error != nullptr) {
    Status status = TakeError(pending->api, error, "PJRT_LoadedExecutable_Execute");
    std::lock_guard<std::mutex> lock(pending->mutex);
    if (pending->status.ok()) pending->status = status;
  }
  if (--pending->remaining == 0) Deliver(pending);
}

// Any thread. Hands the finished execution to its environment's main thread if that still
// exists, else to the cleanup thread.
void CompletionQueue::Deliver(Pending* pending) {
  std::shared_ptr<Channel> channel = pending->channel;
  {
    std::lock_guard<std::mutex> lock(channel->mutex);
    if (channel->tsfn != nullptr &&
        napi_call_threadsafe_function(channel->tsfn, pending, napi_tsfn_nonblocking) == napi_ok) {
      return;  // CallJs settles it (or discards it, if the environment goes first)
    }
  }
  CleanupThread::Run([pending] { Discard(pending); });
}

// The environment's main thread; `env` is null when Node empties the queue at teardown.
void CompletionQueue::CallJs(napi_env raw_env, napi_value, void*, void* data) {
  auto* pending = static_cast<Pending*>(data);
  if (raw_env == nullptr) {
    Discard(pending);
    return;
  }
  Napi::Env env(raw_env);
  {
    Channel& channel = *pending->channel;
    std::lock_guard<std::mutex> lock(channel.mutex);
    if (--channel.referenced == 0 && channel.tsfn != nullptr) {
      napi_unref_threadsafe_function(env, channel.tsfn);
    }
  }
  Settle(env, pending);
}

// Main thread, live environment: settles the Promise and frees the Pending. A JS call that fails
// (a worker being terminated refuses them) drops the results instead of escaping as an exception.
void CompletionQueue::Settle(Napi::Env env, Pending* pending) {
  std::unique_ptr<Pending> owned(pending);
  DestroyEvents(pending->api, pending->events);
  napi_value result = nullptr;
  bool resolve = pending->status.ok();
  try {
    if (resolve) {
      try {
        result = pending->done(env);
      } catch (const Napi::Error& error) {
        resolve = false;
        result = error.Value();
      }
    } else {
      result = MakeError(env, pending->status).Value();
    }
  } catch (const Napi::Error&) {
    result = nullptr;  // the environment is going away: nobody can observe this Promise any more
  }
  if (!resolve && pending->discard) pending->discard();
  napi_status status = napi_generic_failure;
  if (result != nullptr) {
    status = resolve ? napi_resolve_deferred(env, pending->deferred, result)
                     : napi_reject_deferred(env, pending->deferred, result);
  }
  if (status != napi_ok) {
    if (resolve && pending->discard) pending->discard();
    ParkDeferred(pending->deferred);
  }
}

// Any thread but a plugin's: frees an execution whose results nobody will receive.
void CompletionQueue::Discard(Pending* pending) {
  std::unique_ptr<Pending> owned(pending);
  DestroyEvents(pending->api, pending->events);
  if (pending->discard) pending->discard();
  ParkDeferred(pending->deferred);
}

}  // namespace pjrt
