// `Executable`: a PJRT_LoadedExecutable, its output signature, serialization and execution.
#pragma once

#include <napi.h>

#include "handles.h"

namespace pjrt {

/// Owns a PJRT_LoadedExecutable and the facts read from it once at load time.
struct ExecutableHandle {
  std::shared_ptr<ClientHandle> client;
  PJRT_LoadedExecutable* executable = nullptr;
  std::string name;
  size_t num_replicas = 0;
  size_t num_outputs = 0;
  std::vector<int> output_types;
  std::vector<std::vector<int64_t>> output_dims;
  std::vector<PJRT_Device*> devices;  // addressable devices, one per replica
  ~ExecutableHandle();
};

/// JS class `Executable`. Getters `name`, `numReplicas`, `numOutputs`, `outputTypes`,
/// `outputDims`, `devices` (client device indices, one per replica); methods
/// `execute(argLists, options): Promise<Buffer[][]>`, `serialize(): Uint8Array`, `dispose()`.
class Executable : public Napi::ObjectWrap<Executable> {
 public:
  static Napi::Function Init(Napi::Env env);
  static Napi::Function Constructor(Napi::Env env);
  explicit Executable(const Napi::CallbackInfo& info);

  /// Takes ownership of `executable`, reads its signature, and wraps it (throws PjrtError).
  static Napi::Value Wrap(Napi::Env env, std::shared_ptr<ClientHandle> client,
                          PJRT_LoadedExecutable* executable);

 private:
  std::shared_ptr<ExecutableHandle> Handle(Napi::Env env) const;
  Napi::Value Name(const Napi::CallbackInfo& info);
  Napi::Value NumReplicas(const Napi::CallbackInfo& info);
  Napi::Value NumOutputs(const Napi::CallbackInfo& info);
  Napi::Value OutputTypes(const Napi::CallbackInfo& info);
  Napi::Value OutputDims(const Napi::CallbackInfo& info);
  Napi::Value Devices(const Napi::CallbackInfo& info);
  Napi::Value Execute(const Napi::CallbackInfo& info);
  Napi::Value Serialize(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  std::shared_ptr<ExecutableHandle> handle_;
};

}  // namespace pjrt
