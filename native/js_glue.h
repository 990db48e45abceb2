// Glue between PJRT results and JavaScript: the addon's per-environment data, conversion of a
// `Status` into the TS-defined `PjrtError`, argument checks that throw `TypeError`, and the one
// async helper that runs blocking PJRT work on the libuv thread pool and settles a Promise.
#pragma once

#include <napi.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "handles.h"

namespace pjrt {

struct BufferHandle;
struct ExecutableHandle;
class CompletionQueue;

/// Per-environment state: the error class handed over by TS, the wrapped classes'
/// constructors (so native code can create Buffers and Executables), and the handle that the
/// next constructor call adopts. Native code sets a `pending_*` slot and calls the constructor
/// synchronously; a constructor called from JS finds the slot empty and throws TypeError.
struct AddonData {
  std::shared_ptr<PluginHandle> pending_plugin;
  std::shared_ptr<ClientHandle> pending_client;
  std::shared_ptr<BufferHandle> pending_buffer;
  std::shared_ptr<ExecutableHandle> pending_executable;

  Napi::FunctionReference error_class;
  Napi::FunctionReference plugin_class;
  Napi::FunctionReference client_class;
  Napi::FunctionReference buffer_class;
  Napi::FunctionReference executable_class;
  std::unique_ptr<CompletionQueue> completions;
  ~AddonData();
};

AddonData& GetAddonData(Napi::Env env);

/// Builds the JS error for a failed Status: `new PjrtError(message, codeName, function, code)`
/// when TS has registered its class, else a plain Error with the same fields.
Napi::Error MakeError(Napi::Env env, const Status& status);

/// Throws a `TypeError` (misuse detected before PJRT is called).
[[noreturn]] void ThrowTypeError(Napi::Env env, const std::string& message);

/// Reads argument `index` as an object wrapped by class T, throwing TypeError otherwise.
template <typename T>
T* Unwrap(const Napi::CallbackInfo& info, size_t index, const char* what) {
  Napi::Value value = info[index];
  if (!value.IsObject() || !value.As<Napi::Object>().InstanceOf(T::Constructor(info.Env()))) {
    ThrowTypeError(info.Env(), std::string("expected ") + what + " as argument " +
                                   std::to_string(index + 1));
  }
  return T::Unwrap(value.As<Napi::Object>());
}

/// Runs `work` on a worker thread; then, on the main thread, resolves the returned Promise with
/// `done(env)` or rejects it with the error for the Status. `keep_alive` holds JS values (such
/// as a host typed array being uploaded) until the work is finished; `done` receives them again
/// (as live values) in its second argument.
class PjrtWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<Status()>;
  using Done = std::function<Napi::Value(Napi::Env, const std::vector<Napi::Value>& kept)>;

  static Napi::Promise Start(Napi::Env env, const char* name, Work work, Done done,
                             std::vector<Napi::Value> keep_alive = {});

 private:
  PjrtWorker(Napi::Env env, const char* name, Work work, Done done,
             std::vector<Napi::Value> keep_alive);
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& error) override;

  Napi::Promise::Deferred deferred_;
  Work work_;
  Done done_;
  Status status_;
  std::vector<Napi::Reference<Napi::Value>> keep_alive_;
};

}  // namespace pjrt
