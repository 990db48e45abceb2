#include "client.h"

#include <cstdint>

#include "buffer.h"
#include "executable.h"
#include "host_staging.h"
#include "js_glue.h"

namespace pjrt {
namespace {

/// Owned storage for client-create options, alive until the worker has run.
struct NamedOptions {
  std::vector<std::string> names;
  std::vector<std::string> strings;
  std::vector<std::vector<int64_t>> lists;
  std::vector<PJRT_NamedValue> values;
};

std::unique_ptr<NamedOptions> ParseNamedOptions(Napi::Env env, Napi::Value value) {
  auto options = std::make_unique<NamedOptions>();
  if (value.IsUndefined() || value.IsNull()) return options;
  if (!value.IsArray()) ThrowTypeError(env, "client options must be an array of {name, type, value}");
  Napi::Array array = value.As<Napi::Array>();
  const uint32_t n = array.Length();
  options->names.reserve(n);
  options->strings.reserve(n);
  options->lists.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    Napi::Object item = array.Get(i).As<Napi::Object>();
    std::string type = item.Get("type").ToString().Utf8Value();
    Napi::Value v = item.Get("value");
    PJRT_NamedValue named;
    std::memset(&named, 0, sizeof(named));
    named.struct_size = PJRT_NamedValue_STRUCT_SIZE;
    options->names.push_back(item.Get("name").ToString().Utf8Value());
    named.name = options->names.back().c_str();
    named.name_size = options->names.back().size();
    if (type == "int64") {
      named.type = PJRT_NamedValue_kInt64;
      named.int64_value = static_cast<int64_t>(v.ToNumber().Int64Value());
      named.value_size = 1;
    } else if (type == "string") {
      named.type = PJRT_NamedValue_kString;
      options->strings.push_back(v.ToString().Utf8Value());
      named.string_value = options->strings.back().c_str();
      named.value_size = options->strings.back().size();
    } else if (type == "bool") {
      named.type = PJRT_NamedValue_kBool;
      named.bool_value = v.ToBoolean().Value();
      named.value_size = 1;
    } else if (type == "float") {
      named.type = PJRT_NamedValue_kFloat;
      named.float_value = v.ToNumber().FloatValue();
      named.value_size = 1;
    } else if (type == "int64list") {
      named.type = PJRT_NamedValue_kInt64List;
      Napi::Array list = v.As<Napi::Array>();
      std::vector<int64_t> ints(list.Length());
      for (uint32_t j = 0; j < list.Length(); ++j) ints[j] = list.Get(j).ToNumber().Int64Value();
      options->lists.push_back(std::move(ints));
      named.int64_array_value = options->lists.back().data();
      named.value_size = options->lists.back().size();
    } else {
      ThrowTypeError(env, "client option '" + options->names.back() + "' has unknown type '" +
                              type + "' (int64, string, bool, float, int64list)");
    }
    options->values.push_back(named);
  }
  return options;
}

std::string DescriptionString(const PJRT_Api* api, PJRT_DeviceDescription* description) {
  PJRT_ARGS(PJRT_DeviceDescription_DebugString, args);
  args.device_description = description;
  if (!PJRT_CALL(api, PJRT_DeviceDescription_DebugString, &args).ok()) return "";
  return std::string(args.debug_string, args.debug_string_size);
}

/// Returns `staging` to the pool when `done` fires (on whatever thread), then forgets the event.
Status ReleaseStagingWhenDone(const PJRT_Api* api, PJRT_Event* done, void* staging, size_t capacity) {
  if (done == nullptr) {
    StagingPool::Instance().Release(staging, capacity);
    return Status::Ok();
  }
  struct Release {
    const PJRT_Api* api;
    void* block;
    size_t capacity;
  };
  auto* release = new Release{api, staging, capacity};
  PJRT_ARGS(PJRT_Event_OnReady, on_ready);
  on_ready.event = done;
  on_ready.user_arg = release;
  on_ready.callback = [](PJRT_Error* error, void* user_arg) {
    auto* release = static_cast<Release*>(user_arg);
    if (error != nullptr) TakeError(release->api, error, "done_with_host_buffer");
    StagingPool::Instance().Release(release->block, release->capacity);
    delete release;
  };
  Status status = PJRT_CALL(api, PJRT_Event_OnReady, &on_ready);
  if (!status.ok()) delete release;  // never learn when PJRT is done: keep the block, never reuse it
  PJRT_ARGS(PJRT_Event_Destroy, destroy);  // the callback stays registered on the event's state
  destroy.event = done;
  PJRT_CALL(api, PJRT_Event_Destroy, &destroy);
  return Status::Ok();
}

}  // namespace

Napi::Function Client::Init(Napi::Env env) {
  return DefineClass(env, "Client",
                     {InstanceAccessor<&Client::PlatformName>("platformName"),
                      InstanceAccessor<&Client::PlatformVersion>("platformVersion"),
                      InstanceMethod<&Client::Devices>("devices"),
                      InstanceMethod<&Client::MemoryStats>("memoryStats"),
                      InstanceMethod<&Client::Compile>("compile"),
                      InstanceMethod<&Client::Deserialize>("deserialize"),
                      InstanceMethod<&Client::BufferFromHost>("bufferFromHost"),
                      InstanceMethod<&Client::Close>("close")});
}

Napi::Function Client::Constructor(Napi::Env env) { return GetAddonData(env).client_class.Value(); }

Client::Client(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Client>(info) {
  handle_ = std::move(GetAddonData(info.Env()).pending_client);
  if (!handle_) {
    ThrowTypeError(info.Env(), "Client cannot be constructed directly; use plugin.createClient()");
  }
}

Napi::Value Client::Create(const Napi::CallbackInfo& info, std::shared_ptr<PluginHandle> plugin) {
  Napi::Env env = info.Env();
  std::shared_ptr<NamedOptions> options = ParseNamedOptions(env, info[0]);
  auto handle = std::make_shared<ClientHandle>();
  handle->plugin = plugin;
  return PjrtWorker::Start(
      env, "pjrt.createClient",
      [handle, options]() {
        PJRT_ARGS(PJRT_Client_Create, args);
        args.create_options = options->values.data();
        args.num_options = options->values.size();
        Status status = PJRT_CALL(handle->api(), PJRT_Client_Create, &args);
        if (!status.ok()) return status;
        handle->client = args.client;
        PJRT_ARGS(PJRT_Client_AddressableDevices, devices);
        devices.client = handle->client;
        status = PJRT_CALL(handle->api(), PJRT_Client_AddressableDevices, &devices);
        if (!status.ok()) return status;
        handle->devices.assign(devices.addressable_devices,
                               devices.addressable_devices + devices.num_addressable_devices);
        PJRT_ARGS(PJRT_Client_PlatformName, platform);
        platform.client = handle->client;
        if (PJRT_CALL(handle->api(), PJRT_Client_PlatformName, &platform).ok()) {
          handle->stage_host_transfers =
              std::string(platform.platform_name, platform.platform_name_size) == "cpu";
        }
        return Status::Ok();
      },
      [handle](Napi::Env env, const std::vector<Napi::Value>&) -> Napi::Value {
        GetAddonData(env).pending_client = handle;  // adopted by the constructor, synchronously
        return Constructor(env).New({});
      });
}

std::shared_ptr<ClientHandle> Client::Handle(Napi::Env env) const {
  if (!handle_) {
    throw MakeError(env, Status{kCodeFailedPrecondition, "Client",
                                "this client was closed; open a new Runtime"});
  }
  return handle_;
}

Napi::Value Client::PlatformName(const Napi::CallbackInfo& info) {
  auto client = Handle(info.Env());
  PJRT_ARGS(PJRT_Client_PlatformName, args);
  args.client = client->client;
  Status status = PJRT_CALL(client->api(), PJRT_Client_PlatformName, &args);
  if (!status.ok()) throw MakeError(info.Env(), status);
  return Napi::String::New(info.Env(), args.platform_name, args.platform_name_size);
}

Napi::Value Client::PlatformVersion(const Napi::CallbackInfo& info) {
  auto client = Handle(info.Env());
  PJRT_ARGS(PJRT_Client_PlatformVersion, args);
  args.client = client->client;
  Status status = PJRT_CALL(client->api(), PJRT_Client_PlatformVersion, &args);
  if (!status.ok()) throw MakeError(info.Env(), status);
  return Napi::String::New(info.Env(), args.platform_version, args.platform_version_size);
}

Napi::Value Client::Devices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto client = Handle(env);
  const PJRT_Api* api = client->api();
  Napi::Array result = Napi::Array::New(env, client->devices.size());
  for (size_t i = 0; i < client->devices.size(); ++i) {
    PJRT_ARGS(PJRT_Device_GetDescription, describe);
    describe.device = client->devices[i];
    Status status = PJRT_CALL(api, PJRT_Device_GetDescription, &describe);
    if (!status.ok()) throw MakeError(env, status);
    PJRT_DeviceDescription* description = describe.device_description;

    Napi::Object device = Napi::Object::New(env);
    device.Set("index", Napi::Number::New(env, static_cast<double>(i)));
    PJRT_ARGS(PJRT_DeviceDescription_Id, id);
    id.device_description = description;
    status = PJRT_CALL(api, PJRT_DeviceDescription_Id, &id);
    if (!status.ok()) throw MakeError(env, status);
    device.Set("id", id.id);
    PJRT_ARGS(PJRT_DeviceDescription_Kind, kind);
    kind.device_description = description;
    status = PJRT_CALL(api, PJRT_DeviceDescription_Kind, &kind);
    if (!status.ok()) throw MakeError(env, status);
    device.Set("kind", Napi::String::New(env, kind.device_kind, kind.device_kind_size));
    PJRT_ARGS(PJRT_DeviceDescription_ProcessIndex, process);
    process.device_description = description;
    if (PJRT_CALL(api, PJRT_DeviceDescription_ProcessIndex, &process).ok()) {
      device.Set("processIndex", process.process_index);
    }
    PJRT_ARGS(PJRT_Device_LocalHardwareId, hardware);
    hardware.device = client->devices[i];
    if (PJRT_CALL(api, PJRT_Device_LocalHardwareId, &hardware).ok()) {
      device.Set("localHardwareId", hardware.local_hardware_id);
    }
    device.Set("debugString", DescriptionString(api, description));
    result.Set(i, device);
  }
  return result;
}

PJRT_Device* DeviceArgument(const Napi::CallbackInfo& info, size_t index,
                            const ClientHandle& client) {
  Napi::Value value = info[index];
  if (!value.IsNumber()) ThrowTypeError(info.Env(), "device index must be a number");
  int64_t device = value.As<Napi::Number>().Int64Value();
  if (device < 0 || device >= static_cast<int64_t>(client.devices.size())) {
    ThrowTypeError(info.Env(), "device index " + std::to_string(device) + " is out of range: " +
                                   std::to_string(client.devices.size()) + " devices");
  }
  return client.devices[static_cast<size_t>(device)];
}

Napi::Value Client::MemoryStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto client = Handle(env);
  PJRT_ARGS(PJRT_Device_MemoryStats, args);
  args.device = DeviceArgument(info, 0, *client);
  Status status = PJRT_CALL(client->api(), PJRT_Device_MemoryStats, &args);
  if (!status.ok()) return env.Null();  // most CPU plugins do not report memory
  Napi::Object stats = Napi::Object::New(env);
  stats.Set("bytesInUse", static_cast<double>(args.bytes_in_use));
  if (args.peak_bytes_in_use_is_set) stats.Set("peakBytesInUse", static_cast<double>(args.peak_bytes_in_use));
  if (args.bytes_limit_is_set) stats.Set("bytesLimit", static_cast<double>(args.bytes_limit));
  if (args.num_allocs_is_set) stats.Set("numAllocs", static_cast<double>(args.num_allocs));
  if (args.largest_alloc_size_is_set) stats.Set("largestAllocSize", static_cast<double>(args.largest_alloc_size));
  return stats;
}

Napi::Value Client::Compile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto client = Handle(env);
  auto code = std::make_shared<std::string>();
  if (info[0].IsString()) {
    *code = info[0].As<Napi::String>().Utf8Value();
  } else if (info[0].IsTypedArray()) {
    Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
    code->assign(reinterpret_cast<const char*>(bytes.Data()), bytes.ByteLength());
  } else {
    ThrowTypeError(env, "compile(code: string | Uint8Array, options: Uint8Array)");
  }
  if (!info[1].IsTypedArray()) ThrowTypeError(env, "compile options must be a Uint8Array");
  Napi::Uint8Array options_bytes = info[1].As<Napi::Uint8Array>();
  auto options = std::make_shared<std::string>(reinterpret_cast<const char*>(options_bytes.Data()),
                                               options_bytes.ByteLength());
  auto result = std::make_shared<PJRT_LoadedExecutable*>(nullptr);
  return PjrtWorker::Start(
      env, "pjrt.compile",
      [client, code, options, result]() {
        static const char kFormat[] = "mlir";
        PJRT_Program program;
        std::memset(&program, 0, sizeof(program));
        program.struct_size = PJRT_Program_STRUCT_SIZE;
        program.code = code->data();
        program.code_size = code->size();
        program.format = kFormat;
        program.format_size = sizeof(kFormat) - 1;
        PJRT_ARGS(PJRT_Client_Compile, args);
        args.client = client->client;
        args.program = &program;
        args.compile_options = options->data();
        args.compile_options_size = options->size();
        Status status = PJRT_CALL(client->api(), PJRT_Client_Compile, &args);
        if (status.ok()) *result = args.executable;
        return status;
      },
      [client, result](Napi::Env env, const std::vector<Napi::Value>&) -> Napi::Value { return Executable::Wrap(env, client, *result); });
}

Napi::Value Client::Deserialize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto client = Handle(env);
  if (!info[0].IsTypedArray()) ThrowTypeError(env, "deserialize(bytes: Uint8Array)");
  Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
  auto data = std::make_shared<std::string>(reinterpret_cast<const char*>(bytes.Data()),
                                            bytes.ByteLength());
  auto result = std::make_shared<PJRT_LoadedExecutable*>(nullptr);
  return PjrtWorker::Start(
      env, "pjrt.deserialize",
      [client, data, result]() {
        PJRT_ARGS(PJRT_Executable_DeserializeAndLoad, args);
        args.client = client->client;
        args.serialized_executable = data->data();
        args.serialized_executable_size = data->size();
        Status status = PJRT_CALL(client->api(), PJRT_Executable_DeserializeAndLoad, &args);
        if (status.ok()) *result = args.loaded_executable;
        return status;
      },
      [client, result](Napi::Env env, const std::vector<Napi::Value>&) -> Napi::Value { return Executable::Wrap(env, client, *result); });
}

Napi::Value Client::BufferFromHost(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto client = Handle(env);
  if (!info[0].IsTypedArray()) ThrowTypeError(env, "bufferFromHost: data must be a typed array");
  Napi::TypedArray data = info[0].As<Napi::TypedArray>();
  const int type = info[1].ToNumber().Int32Value();
  const size_t element_size = ElementSize(type);
  if (element_size == 0) ThrowTypeError(env, "bufferFromHost: unsupported element type " + std::to_string(type));
  if (!info[2].IsArray()) ThrowTypeError(env, "bufferFromHost: dims must be an array");
  Napi::Array dims_array = info[2].As<Napi::Array>();
  auto dims = std::make_shared<std::vector<int64_t>>(dims_array.Length());
  size_t count = 1;
  for (uint32_t i = 0; i < dims_array.Length(); ++i) {
    int64_t d = dims_array.Get(i).ToNumber().Int64Value();
    if (d < 0) ThrowTypeError(env, "bufferFromHost: negative dimension " + std::to_string(d));
    (*dims)[i] = d;
    count *= static_cast<size_t>(d);
  }
  if (count * element_size != data.ByteLength()) {
    ThrowTypeError(env, "bufferFromHost: " + std::to_string(data.ByteLength()) +
                            " bytes of data do not match " + std::to_string(count) +
                            " elements of " + std::to_string(element_size) + " bytes");
  }
  PJRT_Device* device = DeviceArgument(info, 3, *client);
  const uint8_t* bytes = static_cast<const uint8_t*>(data.ArrayBuffer().Data()) + data.ByteOffset();
  auto result = std::make_shared<PJRT_Buffer*>(nullptr);
  const size_t byte_size = data.ByteLength();
  return PjrtWorker::Start(
      env, "pjrt.bufferFromHost",
      [client, bytes, byte_size, type, dims, device, result]() {
        const PJRT_Api* api = client->api();
        PJRT_ARGS(PJRT_Client_BufferFromHostBuffer, args);
        args.client = client->client;
        args.type = static_cast<PJRT_Buffer_Type>(type);
        args.dims = dims->data();
        args.num_dims = dims->size();
        args.device = device;
        size_t capacity = 0;
        const bool stage = client->stage_host_transfers && HasFunction(api, offsetof(PJRT_Api, PJRT_Event_OnReady));
        void* staging = stage ? StagingPool::Instance().Acquire(byte_size, &capacity) : nullptr;
        if (staging != nullptr) {
          std::memcpy(staging, bytes, byte_size);
          args.data = staging;
          args.host_buffer_semantics = PJRT_HostBufferSemantics_kImmutableZeroCopy;
        } else {
          args.data = bytes;
          args.host_buffer_semantics = PJRT_HostBufferSemantics_kImmutableUntilTransferCompletes;
        }
        Status status = PJRT_CALL(api, PJRT_Client_BufferFromHostBuffer, &args);
        if (!status.ok()) {
          StagingPool::Instance().Release(staging, capacity);
          return status;
        }
        *result = args.buffer;
        if (staging == nullptr) {
          status = AwaitAndDestroyEvent(api, args.done_with_host_buffer);
          if (!status.ok()) {
            DestroyBuffer(api, args.buffer);
            *result = nullptr;
          }
          return status;
        }
        // The staging block now backs the buffer: recycle it once PJRT lets go of it.
        return ReleaseStagingWhenDone(api, args.done_with_host_buffer, staging, capacity);
      },
      [client, result](Napi::Env env, const std::vector<Napi::Value>&) -> Napi::Value { return Buffer::Wrap(env, client, *result); },
      {data});
}

Napi::Value Client::Close(const Napi::CallbackInfo& info) {
  handle_.reset();  // the PJRT client lives on while buffers or executables still hold it
  return info.Env().Undefined();
}

}  // namespace pjrt
