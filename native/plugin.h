// `Plugin`: a loaded PJRT plugin (dlopen + GetPjrtApi + PJRT_Plugin_Initialize).
#pragma once

#include <napi.h>

#include "handles.h"

namespace pjrt {

/// JS class `Plugin`. Created by the module function `loadPlugin(path)`; never unloaded.
/// Methods: `apiVersion` (getter), `path` (getter), `attributes()`, `createClient(options)`,
/// `claimNewerApiWarning()`.
class Plugin : public Napi::ObjectWrap<Plugin> {
 public:
  static Napi::Function Init(Napi::Env env);
  static Napi::Function Constructor(Napi::Env env);
  explicit Plugin(const Napi::CallbackInfo& info);

  /// Module function `loadPlugin(path: string): Plugin` (sync; throws PjrtError).
  static Napi::Value Load(const Napi::CallbackInfo& info);

  const std::shared_ptr<PluginHandle>& handle() const { return handle_; }

 private:
  Napi::Value ApiVersion(const Napi::CallbackInfo& info);
  Napi::Value Path(const Napi::CallbackInfo& info);
  Napi::Value Attributes(const Napi::CallbackInfo& info);
  Napi::Value CreateClient(const Napi::CallbackInfo& info);
  Napi::Value ClaimNewerApiWarning(const Napi::CallbackInfo& info);

  std::shared_ptr<PluginHandle> handle_;
};

/// Converts a list of PJRT named values into a plain JS object.
Napi::Object NamedValuesToObject(Napi::Env env, const PJRT_NamedValue* values, size_t count);

}  // namespace pjrt
