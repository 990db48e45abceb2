#include "executable.h"

#include "buffer.h"
#include "completion.h"
#include "js_glue.h"

namespace pjrt {
namespace {

/// Runs `read` against the PJRT_Executable view of a loaded executable, then releases the view.
template <typename Fn>
Status WithExecutable(const PJRT_Api* api, PJRT_LoadedExecutable* loaded, Fn read) {
  PJRT_ARGS(PJRT_LoadedExecutable_GetExecutable, get);
  get.loaded_executable = loaded;
  Status status = PJRT_CALL(api, PJRT_LoadedExecutable_GetExecutable, &get);
  if (!status.ok()) return status;
  status = read(get.executable);
  PJRT_ARGS(PJRT_Executable_Destroy, destroy);
  destroy.executable = get.executable;
  PJRT_CALL(api, PJRT_Executable_Destroy, &destroy);
  return status;
}

Status ReadSignature(const PJRT_Api* api, ExecutableHandle* handle) {
  return WithExecutable(api, handle->executable, [&](PJRT_Executable* executable) {
    PJRT_ARGS(PJRT_Executable_Name, name);
    name.executable = executable;
    if (PJRT_CALL(api, PJRT_Executable_Name, &name).ok()) {
      handle->name.assign(name.executable_name, name.executable_name_size);
    }
    PJRT_ARGS(PJRT_Executable_NumReplicas, replicas);
    replicas.executable = executable;
    Status status = PJRT_CALL(api, PJRT_Executable_NumReplicas, &replicas);
    if (!status.ok()) return status;
    handle->num_replicas = replicas.num_replicas;
    PJRT_ARGS(PJRT_Executable_NumOutputs, outputs);
    outputs.executable = executable;
    status = PJRT_CALL(api, PJRT_Executable_NumOutputs, &outputs);
    if (!status.ok()) return status;
    handle->num_outputs = outputs.num_outputs;
    PJRT_ARGS(PJRT_Executable_OutputElementTypes, types);
    types.executable = executable;
    if (PJRT_CALL(api, PJRT_Executable_OutputElementTypes, &types).ok()) {
      handle->output_types.assign(types.output_types, types.output_types + types.num_output_types);
    }
    PJRT_ARGS(PJRT_Executable_OutputDimensions, dims);
    dims.executable = executable;
    if (PJRT_CALL(api, PJRT_Executable_OutputDimensions, &dims).ok()) {
      const int64_t* next = dims.dims;
      for (size_t i = 0; i < dims.num_outputs; ++i) {
        handle->output_dims.emplace_back(next, next + dims.dim_sizes[i]);
        next += dims.dim_sizes[i];
      }
    }
    return Status::Ok();
  });
}

}  // namespace

ExecutableHandle::~ExecutableHandle() {
  if (executable == nullptr) return;
  PJRT_ARGS(PJRT_LoadedExecutable_Destroy, args);
  args.executable = executable;
  PJRT_CALL(client->api(), PJRT_LoadedExecutable_Destroy, &args);
}

Napi::Function Executable::Init(Napi::Env env) {
  return DefineClass(env, "Executable",
                     {InstanceAccessor<&Executable::Name>("name"),
                      InstanceAccessor<&Executable::NumReplicas>("numReplicas"),
                      InstanceAccessor<&Executable::NumOutputs>("numOutputs"),
                      InstanceAccessor<&Executable::OutputTypes>("outputTypes"),
                      InstanceAccessor<&Executable::OutputDims>("outputDims"),
                      InstanceAccessor<&Executable::Devices>("devices"),
                      InstanceMethod<&Executable::Execute>("execute"),
                      InstanceMethod<&Executable::Serialize>("serialize"),
                      InstanceMethod<&Executable::Dispose>("dispose")});
}

Napi::Function Executable::Constructor(Napi::Env env) {
  return GetAddonData(env).executable_class.Value();
}

Executable::Executable(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Executable>(info) {
  handle_ = std::move(GetAddonData(info.Env()).pending_executable);
  if (!handle_) {
    ThrowTypeError(info.Env(), "Executable cannot be constructed directly; use client.compile()");
  }
}

Napi::Value Executable::Wrap(Napi::Env env, std::shared_ptr<ClientHandle> client,
                             PJRT_LoadedExecutable* executable) {
  auto handle = std::make_shared<ExecutableHandle>();
  handle->client = std::move(client);
  handle->executable = executable;
  const PJRT_Api* api = handle->client->api();
  Status status = ReadSignature(api, handle.get());
  if (!status.ok()) throw MakeError(env, status);
  PJRT_ARGS(PJRT_LoadedExecutable_AddressableDevices, devices);
  devices.executable = executable;
  status = PJRT_CALL(api, PJRT_LoadedExecutable_AddressableDevices, &devices);
  if (!status.ok()) throw MakeError(env, status);
  handle->devices.assign(devices.addressable_devices,
                         devices.addressable_devices + devices.num_addressable_devices);
  GetAddonData(env).pending_executable = handle;  // adopted by the constructor, synchronously
  return Constructor(env).New({});
}

std::shared_ptr<ExecutableHandle> Executable::Handle(Napi::Env env) const {
  if (!handle_) {
    throw MakeError(env, Status{kCodeFailedPrecondition, "Executable",
                                "this executable was disposed; compile it again"});
  }
  return handle_;
}

Napi::Value Executable::Name(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), Handle(info.Env())->name);
}

Napi::Value Executable::NumReplicas(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(Handle(info.Env())->num_replicas));
}

Napi::Value Executable::NumOutputs(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(Handle(info.Env())->num_outputs));
}

Napi::Value Executable::OutputTypes(const Napi::CallbackInfo& info) {
  auto handle = Handle(info.Env());
  Napi::Array types = Napi::Array::New(info.Env(), handle->output_types.size());
  for (size_t i = 0; i < handle->output_types.size(); ++i) types.Set(i, handle->output_types[i]);
  return types;
}

Napi::Value Executable::OutputDims(const Napi::CallbackInfo& info) {
  auto handle = Handle(info.Env());
  Napi::Array all = Napi::Array::New(info.Env(), handle->output_dims.size());
  for (size_t i = 0; i < handle->output_dims.size(); ++i) {
    Napi::Array dims = Napi::Array::New(info.Env(), handle->output_dims[i].size());
    for (size_t j = 0; j < handle->output_dims[i].size(); ++j) {
      dims.Set(j, static_cast<double>(handle->output_dims[i][j]));
    }
    all.Set(i, dims);
  }
  return all;
}

Napi::Value Executable::Devices(const Napi::CallbackInfo& info) {
  auto handle = Handle(info.Env());
  Napi::Array devices = Napi::Array::New(info.Env(), handle->devices.size());
  for (size_t i = 0; i < handle->devices.size(); ++i) {
    devices.Set(i, DeviceIndex(*handle->client, handle->devices[i]));
  }
  return devices;
}

Napi::Value Executable::Execute(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto handle = Handle(env);
  if (!info[0].IsArray()) ThrowTypeError(env, "execute(argLists: Buffer[][], options?)");
  Napi::Array lists = info[0].As<Napi::Array>();
  const size_t num_devices = lists.Length();
  if (num_devices != handle->devices.size()) {
    ThrowTypeError(env, "execute: expected " + std::to_string(handle->devices.size()) +
                            " argument lists (one per replica), got " + std::to_string(num_devices));
  }
  size_t num_args = 0;
  auto held = std::make_shared<std::vector<std::shared_ptr<BufferHandle>>>();
  auto flat = std::make_shared<std::vector<PJRT_Buffer*>>();
  for (size_t d = 0; d < num_devices; ++d) {
    Napi::Value list_value = lists.Get(d);
    if (!list_value.IsArray()) ThrowTypeError(env, "execute: argument list " + std::to_string(d) + " is not an array");
    Napi::Array list = list_value.As<Napi::Array>();
    if (d == 0) num_args = list.Length();
    if (list.Length() != num_args) {
      ThrowTypeError(env, "execute: argument list " + std::to_string(d) + " has " +
                              std::to_string(list.Length()) + " buffers, list 0 has " +
                              std::to_string(num_args));
    }
    for (size_t a = 0; a < num_args; ++a) {
      Napi::Value item = list.Get(a);
      if (!item.IsObject() || !item.As<Napi::Object>().InstanceOf(Buffer::Constructor(env))) {
        ThrowTypeError(env, "execute: argument " + std::to_string(a) + " of replica " +
                                std::to_string(d) + " is not a device buffer");
      }
      std::shared_ptr<BufferHandle> buffer = Buffer::Unwrap(item.As<Napi::Object>())->Handle(env);
      held->push_back(buffer);
      flat->push_back(buffer->buffer);
    }
  }
  auto non_donatable = std::make_shared<std::vector<int64_t>>();
  int launch_id = 0;
  if (info.Length() > 1 && info[1].IsObject()) {
    Napi::Object options = info[1].As<Napi::Object>();
    Napi::Value keep = options.Get("nonDonatable");
    if (keep.IsArray()) {
      Napi::Array indices = keep.As<Napi::Array>();
      for (uint32_t i = 0; i < indices.Length(); ++i) non_donatable->push_back(indices.Get(i).ToNumber().Int64Value());
    }
    Napi::Value launch = options.Get("launchId");
    if (launch.IsNumber()) launch_id = launch.As<Napi::Number>().Int32Value();
  }
  // PJRT execution is asynchronous: the call enqueues the work and returns output buffers at
  // once; completion arrives through the events (CompletionQueue), with no thread-pool hop.
  const PJRT_Api* api = handle->client->api();
  const size_t num_outputs = handle->num_outputs;
  auto outputs = std::make_shared<std::vector<PJRT_Buffer*>>(num_devices * num_outputs, nullptr);
  std::vector<PJRT_Buffer* const*> arg_lists(num_devices);
  std::vector<PJRT_Buffer**> out_lists(num_devices);
  for (size_t d = 0; d < num_devices; ++d) {
    arg_lists[d] = flat->data() + d * num_args;
    out_lists[d] = outputs->data() + d * num_outputs;
  }
  std::vector<PJRT_Event*> events(num_devices, nullptr);
  PJRT_ExecuteOptions options;
  std::memset(&options, 0, sizeof(options));
  options.struct_size = PJRT_ExecuteOptions_STRUCT_SIZE;
  options.launch_id = launch_id;
  options.non_donatable_input_indices = non_donatable->data();
  options.num_non_donatable_input_indices = non_donatable->size();
  PJRT_ARGS(PJRT_LoadedExecutable_Execute, args);
  args.executable = handle->executable;
  args.options = &options;
  args.argument_lists = arg_lists.data();
  args.num_devices = num_devices;
  args.num_args = num_args;
  args.output_lists = out_lists.data();
  args.device_complete_events = events.data();
  Status status = PJRT_CALL(api, PJRT_LoadedExecutable_Execute, &args);
  if (!status.ok()) {
    auto deferred = Napi::Promise::Deferred::New(env);
    deferred.Reject(MakeError(env, status).Value());
    return deferred.Promise();
  }
  return GetAddonData(env).completions->WhenReady(
      env, api, std::move(events),
      [handle, held, outputs, num_devices, num_outputs](Napi::Env env) -> Napi::Value {
        Napi::Array result = Napi::Array::New(env, num_devices);
        for (size_t d = 0; d < num_devices; ++d) {
          Napi::Array row = Napi::Array::New(env, num_outputs);
          for (size_t o = 0; o < num_outputs; ++o) {
            PJRT_Buffer*& output = (*outputs)[d * num_outputs + o];
            PJRT_Buffer* owned = output;
            output = nullptr;  // the JS Buffer owns it now (or frees it, if wrapping fails)
            row.Set(o, Buffer::Wrap(env, handle->client, owned));
          }
          result.Set(d, row);
        }
        return result;
      },
      [api, outputs]() {  // whatever `done` did not hand to JS
        for (PJRT_Buffer*& buffer : *outputs) {
          DestroyBuffer(api, buffer);
          buffer = nullptr;
        }
      });
}

Napi::Value Executable::Serialize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto handle = Handle(env);
  const PJRT_Api* api = handle->client->api();
  Napi::Value result = env.Undefined();
  Status status = WithExecutable(api, handle->executable, [&](PJRT_Executable* executable) {
    PJRT_ARGS(PJRT_Executable_Serialize, args);
    args.executable = executable;
    Status s = PJRT_CALL(api, PJRT_Executable_Serialize, &args);
    if (!s.ok()) return s;
    Napi::Uint8Array bytes = Napi::Uint8Array::New(env, args.serialized_bytes_size);
    std::memcpy(bytes.Data(), args.serialized_bytes, args.serialized_bytes_size);
    if (args.serialized_executable_deleter != nullptr) {
      args.serialized_executable_deleter(args.serialized_executable);
    }
    result = bytes;
    return Status::Ok();
  });
  if (!status.ok()) throw MakeError(env, status);
  return result;
}

Napi::Value Executable::Dispose(const Napi::CallbackInfo& info) {
  handle_.reset();
  return info.Env().Undefined();
}

}  // namespace pjrt
