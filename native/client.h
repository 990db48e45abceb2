// `Client`: an open PJRT_Client: platform, devices, compile, host-to-device transfers.
#pragma once

#include <napi.h>

#include "handles.h"

namespace pjrt {

/// JS class `Client`. Created by `Plugin.createClient(options)` (async).
/// Methods: `platformName`, `platformVersion` (getters), `devices()`, `memoryStats(device)`,
/// `compile(code, options)`, `deserialize(bytes)`, `bufferFromHost(data, type, dims, device)`,
/// `close()`.
class Client : public Napi::ObjectWrap<Client> {
 public:
  static Napi::Function Init(Napi::Env env);
  static Napi::Function Constructor(Napi::Env env);
  explicit Client(const Napi::CallbackInfo& info);

  /// `plugin.createClient(options: {name, type, value}[]): Promise<Client>`.
  static Napi::Value Create(const Napi::CallbackInfo& info, std::shared_ptr<PluginHandle> plugin);

 private:
  std::shared_ptr<ClientHandle> Handle(Napi::Env env) const;
  Napi::Value PlatformName(const Napi::CallbackInfo& info);
  Napi::Value PlatformVersion(const Napi::CallbackInfo& info);
  Napi::Value Devices(const Napi::CallbackInfo& info);
  Napi::Value MemoryStats(const Napi::CallbackInfo& info);
  Napi::Value Compile(const Napi::CallbackInfo& info);
  Napi::Value Deserialize(const Napi::CallbackInfo& info);
  Napi::Value BufferFromHost(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  std::shared_ptr<ClientHandle> handle_;
};

/// Reads `info[index]` as a device index valid for `client`, throwing TypeError otherwise.
PJRT_Device* DeviceArgument(const Napi::CallbackInfo& info, size_t index,
                            const ClientHandle& client);

}  // namespace pjrt
