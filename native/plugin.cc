#include "plugin.h"

#include <dlfcn.h>

#include <map>
#include <mutex>

#include "client.h"
#include "js_glue.h"

namespace pjrt {
namespace {

// Plugins are process-wide: loaded and initialized once, shared by every Node environment.
std::mutex g_plugins_mutex;
std::map<std::string, std::shared_ptr<PluginHandle>> g_plugins;

Status LoadPluginHandle(const std::string& path, std::shared_ptr<PluginHandle>* out) {
  std::lock_guard<std::mutex> lock(g_plugins_mutex);
  auto found = g_plugins.find(path);
  if (found != g_plugins.end()) {
    *out = found->second;
    return Status::Ok();
  }
  void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* reason = dlerror();
    return Status{PJRT_Error_Code_NOT_FOUND, "dlopen",
                  "cannot load PJRT plugin " + path + ": " + (reason ? reason : "unknown error")};
  }
  using GetApiFn = const PJRT_Api* (*)();
  auto get_api = reinterpret_cast<GetApiFn>(dlsym(library, "GetPjrtApi"));
  if (get_api == nullptr) {
    return Status{PJRT_Error_Code_INVALID_ARGUMENT, "dlsym",
                  path + " is not a PJRT plugin: it does not export GetPjrtApi"};
  }
  const PJRT_Api* api = get_api();
  if (api == nullptr) {
    return Status{PJRT_Error_Code_INTERNAL, "GetPjrtApi", path + ": GetPjrtApi returned null"};
  }
  const int major = api->pjrt_api_version.major_version;
  const int minor = api->pjrt_api_version.minor_version;
  if (major != PJRT_API_MAJOR) {
    return Status{kCodeFailedPrecondition, "GetPjrtApi",
                  path + " implements PJRT C API " + std::to_string(major) + "." +
                      std::to_string(minor) + " but this build of pjrt-bert was compiled against " +
                      std::to_string(PJRT_API_MAJOR) + "." + std::to_string(PJRT_API_MINOR) +
                      "; major versions must match. Use a plugin with API major version " +
                      std::to_string(PJRT_API_MAJOR) + " or rebuild pjrt-bert with a matching "
                      "pjrt_c_api.h (npm run build:native)."};
  }
  PJRT_ARGS(PJRT_Plugin_Initialize, init);
  Status status = PJRT_CALL(api, PJRT_Plugin_Initialize, &init);
  if (!status.ok()) return status;
  auto handle = std::make_shared<PluginHandle>();
  handle->api = api;
  handle->library = library;
  handle->path = path;
  g_plugins[path] = handle;
  *out = handle;
  return Status::Ok();
}

}  // namespace

Napi::Function Plugin::Init(Napi::Env env) {
  Napi::Function ctor = DefineClass(
      env, "Plugin",
      {InstanceAccessor<&Plugin::ApiVersion>("apiVersion"),
       InstanceAccessor<&Plugin::Path>("path"),
       InstanceMethod<&Plugin::Attributes>("attributes"),
       InstanceMethod<&Plugin::CreateClient>("createClient"),
       InstanceMethod<&Plugin::ClaimNewerApiWarning>("claimNewerApiWarning")});
  return ctor;
}

Napi::Function Plugin::Constructor(Napi::Env env) {
  return GetAddonData(env).plugin_class.Value();
}

Plugin::Plugin(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Plugin>(info) {
  handle_ = std::move(GetAddonData(info.Env()).pending_plugin);
  if (!handle_) {
    ThrowTypeError(info.Env(), "Plugin cannot be constructed directly; use loadPlugin(path)");
  }
}

Napi::Value Plugin::Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) ThrowTypeError(env, "loadPlugin(path: string)");
  std::shared_ptr<PluginHandle> handle;
  Status status = LoadPluginHandle(info[0].As<Napi::String>().Utf8Value(), &handle);
  if (!status.ok()) throw MakeError(env, status);
  GetAddonData(env).pending_plugin = handle;  // adopted by the constructor, synchronously
  return Constructor(env).New({});
}

Napi::Value Plugin::ApiVersion(const Napi::CallbackInfo& info) {
  Napi::Object version = Napi::Object::New(info.Env());
  version.Set("major", handle_->api->pjrt_api_version.major_version);
  version.Set("minor", handle_->api->pjrt_api_version.minor_version);
  return version;
}

Napi::Value Plugin::Path(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), handle_->path);
}

Napi::Object NamedValuesToObject(Napi::Env env, const PJRT_NamedValue* values, size_t count) {
  Napi::Object result = Napi::Object::New(env);
  for (size_t i = 0; i < count; ++i) {
    const PJRT_NamedValue& value = values[i];
    std::string name(value.name, value.name_size);
    switch (value.type) {
      case PJRT_NamedValue_kString:
        result.Set(name, Napi::String::New(env, value.string_value, value.value_size));
        break;
      case PJRT_NamedValue_kInt64:
        result.Set(name, Napi::Number::New(env, static_cast<double>(value.int64_value)));
        break;
      case PJRT_NamedValue_kInt64List: {
        Napi::Array list = Napi::Array::New(env, value.value_size);
        for (size_t j = 0; j < value.value_size; ++j) {
          list.Set(j, Napi::Number::New(env, static_cast<double>(value.int64_array_value[j])));
        }
        result.Set(name, list);
        break;
      }
      case PJRT_NamedValue_kFloat:
        result.Set(name, Napi::Number::New(env, value.float_value));
        break;
      case PJRT_NamedValue_kBool:
        result.Set(name, Napi::Boolean::New(env, value.bool_value));
        break;
      default:
        break;
    }
  }
  return result;
}

Napi::Value Plugin::Attributes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PJRT_ARGS(PJRT_Plugin_Attributes, args);
  Status status = PJRT_CALL(handle_->api, PJRT_Plugin_Attributes, &args);
  if (status.code == kCodeUnimplemented) return Napi::Object::New(env);
  if (!status.ok()) throw MakeError(env, status);
  return NamedValuesToObject(env, args.attributes, args.num_attributes);
}

Napi::Value Plugin::CreateClient(const Napi::CallbackInfo& info) {
  return Client::Create(info, handle_);
}

// True exactly once per process and plugin, and only when the plugin's PJRT minor version is
// newer than the header's: whoever gets true reports it (every Node environment shares plugins).
Napi::Value Plugin::ClaimNewerApiWarning(const Napi::CallbackInfo& info) {
  const PJRT_Api_Version& version = handle_->api->pjrt_api_version;
  const bool newer = version.major_version == PJRT_API_MAJOR && version.minor_version > PJRT_API_MINOR;
  return Napi::Boolean::New(info.Env(), newer && !handle_->newer_api_claimed.exchange(true));
}

}  // namespace pjrt
