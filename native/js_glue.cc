#include "js_glue.h"

#include "completion.h"

namespace pjrt {

AddonData::~AddonData() = default;

AddonData& GetAddonData(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

Napi::Error MakeError(Napi::Env env, const Status& status) {
  const char* code_name = ErrorCodeName(status.code);
  AddonData& data = GetAddonData(env);
  if (!data.error_class.IsEmpty()) {
    Napi::Object error = data.error_class.New({Napi::String::New(env, status.message),
                                               Napi::String::New(env, code_name),
                                               Napi::String::New(env, status.function),
                                               Napi::Number::New(env, status.code)});
    return Napi::Error(env, error);
  }
  Napi::Error error = Napi::Error::New(env, status.function + ": " + status.message);
  error.Set("code", Napi::String::New(env, code_name));
  error.Set("function", Napi::String::New(env, status.function));
  return error;
}

void ThrowTypeError(Napi::Env env, const std::string& message) {
  throw Napi::TypeError::New(env, message);
}

Napi::Promise PjrtWorker::Start(Napi::Env env, const char* name, Work work, Done done,
                                std::vector<Napi::Value> keep_alive) {
  auto* worker = new PjrtWorker(env, name, std::move(work), std::move(done), std::move(keep_alive));
  Napi::Promise promise = worker->deferred_.Promise();
  worker->Queue();  // the worker deletes itself after OnOK / OnError
  return promise;
}

PjrtWorker::PjrtWorker(Napi::Env env, const char* name, Work work, Done done,
                       std::vector<Napi::Value> keep_alive)
    : Napi::AsyncWorker(env, name),
      deferred_(Napi::Promise::Deferred::New(env)),
      work_(std::move(work)),
      done_(std::move(done)) {
  for (Napi::Value& value : keep_alive) keep_alive_.push_back(Napi::Persistent(value));
}

void PjrtWorker::Execute() { status_ = work_(); }

void PjrtWorker::OnOK() {
  Napi::Env env = Env();
  if (!status_.ok()) {
    deferred_.Reject(MakeError(env, status_).Value());
    return;
  }
  std::vector<Napi::Value> kept;
  for (auto& reference : keep_alive_) kept.push_back(reference.Value());
  try {
    deferred_.Resolve(done_(env, kept));
  } catch (const Napi::Error& error) {
    deferred_.Reject(error.Value());
  }
}

void PjrtWorker::OnError(const Napi::Error& error) { deferred_.Reject(error.Value()); }

}  // namespace pjrt
