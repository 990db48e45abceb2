#include "completion.h"

#include <atomic>
#include <mutex>

#include "js_glue.h"

namespace pjrt {

struct CompletionQueue::Pending {
  CompletionQueue* queue;
  Napi::Promise::Deferred deferred;
  const PJRT_Api* api;
  std::vector<PJRT_Event*> events;
  Done done;
  std::function<void()> on_error;
  std::atomic<size_t> remaining;
  std::mutex mutex;
  Status status;  // first failure, guarded by mutex
};

CompletionQueue::CompletionQueue(Napi::Env env) {
  channel_ = decltype(channel_)::New(env, "pjrt.completions", 0, 1, this);
  channel_.Unref(env);  // idle: do not keep the process alive
}

CompletionQueue::~CompletionQueue() { channel_.Release(); }

Napi::Promise CompletionQueue::WhenReady(Napi::Env env, const PJRT_Api* api,
                                         std::vector<PJRT_Event*> events, Done done,
                                         std::function<void()> on_error) {
  auto* pending = new Pending{this, Napi::Promise::Deferred::New(env), api, std::move(events),
                              std::move(done), std::move(on_error), {0}, {}, {}};
  Napi::Promise promise = pending->deferred.Promise();
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
    if (in_flight_++ == 0) channel_.Ref(env);
    Settle(env, Napi::Function(), this, pending);
    return promise;
  }
  if (in_flight_++ == 0) channel_.Ref(env);
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
      if (--pending->remaining == 0) channel_.BlockingCall(pending);
    }
  }
  if (--pending->remaining == 0) channel_.BlockingCall(pending);
  return promise;
}

void CompletionQueue::OnEventReady(PJRT_Error* error, void* user_arg) {
  auto* pending = static_cast<Pending*>(user_arg);
  if (error != nullptr) {
    Status status = TakeError(pending->api, error, "PJRT_LoadedExecutable_Execute");
    std::lock_guard<std::mutex> lock(pending->mutex);
    if (pending->status.ok()) pending->status = status;
  }
  if (--pending->remaining == 0) pending->queue->channel_.BlockingCall(pending);
}

void CompletionQueue::Settle(Napi::Env env, Napi::Function, CompletionQueue* queue, Pending* pending) {
  std::unique_ptr<Pending> owned(pending);
  for (PJRT_Event* event : pending->events) {
    if (event == nullptr) continue;
    PJRT_ARGS(PJRT_Event_Destroy, destroy);
    destroy.event = event;
    PJRT_CALL(pending->api, PJRT_Event_Destroy, &destroy);
  }
  if (env == nullptr) return;  // environment shutting down: nothing to settle
  queue->Finished(env);
  if (!pending->status.ok()) {
    if (pending->on_error) pending->on_error();
    pending->deferred.Reject(MakeError(env, pending->status).Value());
    return;
  }
  try {
    pending->deferred.Resolve(pending->done(env));
  } catch (const Napi::Error& error) {
    pending->deferred.Reject(error.Value());
  }
}

void CompletionQueue::Finished(Napi::Env env) {
  if (--in_flight_ == 0) channel_.Unref(env);
}

}  // namespace pjrt
