// Module entry: registers the wrapped classes, the TS error class hook and the constants that
// the TypeScript binding mirrors (header API version, buffer types, error codes).
#include <napi.h>

#include "buffer.h"
#include "client.h"
#include "completion.h"
#include "executable.h"
#include "js_glue.h"
#include "plugin.h"

namespace pjrt {
namespace {

/// `setErrorClass(PjrtError)`: the class native code instantiates for PJRT failures.
Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) ThrowTypeError(info.Env(), "setErrorClass(ctor: Function)");
  GetAddonData(info.Env()).error_class = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

Napi::Object BufferTypes(Napi::Env env) {
  Napi::Object types = Napi::Object::New(env);
  types.Set("PRED", static_cast<int>(PJRT_Buffer_Type_PRED));
  types.Set("S8", static_cast<int>(PJRT_Buffer_Type_S8));
  types.Set("S16", static_cast<int>(PJRT_Buffer_Type_S16));
  types.Set("S32", static_cast<int>(PJRT_Buffer_Type_S32));
  types.Set("S64", static_cast<int>(PJRT_Buffer_Type_S64));
  types.Set("U8", static_cast<int>(PJRT_Buffer_Type_U8));
  types.Set("U16", static_cast<int>(PJRT_Buffer_Type_U16));
  types.Set("U32", static_cast<int>(PJRT_Buffer_Type_U32));
  types.Set("U64", static_cast<int>(PJRT_Buffer_Type_U64));
  types.Set("F16", static_cast<int>(PJRT_Buffer_Type_F16));
  types.Set("F32", static_cast<int>(PJRT_Buffer_Type_F32));
  types.Set("F64", static_cast<int>(PJRT_Buffer_Type_F64));
  types.Set("BF16", static_cast<int>(PJRT_Buffer_Type_BF16));
  return types;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  env.SetInstanceData(data);
  Napi::Function plugin = Plugin::Init(env);
  Napi::Function client = Client::Init(env);
  Napi::Function buffer = Buffer::Init(env);
  Napi::Function executable = Executable::Init(env);
  data->plugin_class = Napi::Persistent(plugin);
  data->client_class = Napi::Persistent(client);
  data->buffer_class = Napi::Persistent(buffer);
  data->executable_class = Napi::Persistent(executable);
  data->completions = std::make_unique<CompletionQueue>(env);
  exports.Set("Plugin", plugin);
  exports.Set("Client", client);
  exports.Set("Buffer", buffer);
  exports.Set("Executable", executable);
  exports.Set("loadPlugin", Napi::Function::New(env, Plugin::Load, "loadPlugin"));
  exports.Set("setErrorClass", Napi::Function::New(env, SetErrorClass, "setErrorClass"));
  Napi::Object version = Napi::Object::New(env);
  version.Set("major", PJRT_API_MAJOR);
  version.Set("minor", PJRT_API_MINOR);
  exports.Set("headerApiVersion", version);
  exports.Set("bufferTypes", BufferTypes(env));
  return exports;
}

}  // namespace
}  // namespace pjrt

static Napi::Object InitPjrtBert(Napi::Env env, Napi::Object exports) { return pjrt::Init(env, exports); }

NODE_API_MODULE(pjrt_bert, InitPjrtBert)
