#include "buffer.h"

#include "js_glue.h"

namespace pjrt {

size_t ElementSize(int type) {
  switch (type) {
    case PJRT_Buffer_Type_PRED:
    case PJRT_Buffer_Type_S8:
    case PJRT_Buffer_Type_U8:
      return 1;
    case PJRT_Buffer_Type_S16:
    case PJRT_Buffer_Type_U16:
    case PJRT_Buffer_Type_F16:
    case PJRT_Buffer_Type_BF16:
      return 2;
    case PJRT_Buffer_Type_S32:
    case PJRT_Buffer_Type_U32:
    case PJRT_Buffer_Type_F32:
      return 4;
    case PJRT_Buffer_Type_S64:
    case PJRT_Buffer_Type_U64:
    case PJRT_Buffer_Type_F64:
      return 8;
    default:
      return 0;
  }
}

Napi::Function Buffer::Init(Napi::Env env) {
  return DefineClass(env, "Buffer",
                     {InstanceAccessor<&Buffer::Type>("type"),
                      InstanceAccessor<&Buffer::Dims>("dims"),
                      InstanceAccessor<&Buffer::OnDeviceSize>("onDeviceSizeInBytes"),
                      InstanceAccessor<&Buffer::Device>("device"),
                      InstanceAccessor<&Buffer::IsDeleted>("isDeleted"),
                      InstanceMethod<&Buffer::ToHost>("toHost"),
                      InstanceMethod<&Buffer::Delete>("delete"),
                      InstanceMethod<&Buffer::Dispose>("dispose")});
}

Napi::Function Buffer::Constructor(Napi::Env env) { return GetAddonData(env).buffer_class.Value(); }

Buffer::Buffer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Buffer>(info) {
  handle_ = std::move(GetAddonData(info.Env()).pending_buffer);
  if (!handle_) {
    ThrowTypeError(info.Env(), "Buffer cannot be constructed directly; use client.bufferFromHost()");
  }
}

Napi::Object Buffer::Wrap(Napi::Env env, std::shared_ptr<ClientHandle> client, PJRT_Buffer* buffer) {
  auto handle = std::make_shared<BufferHandle>();
  handle->client = std::move(client);
  handle->buffer = buffer;
  AddonData& data = GetAddonData(env);
  data.pending_buffer = handle;  // adopted by the constructor, synchronously
  try {
    return Constructor(env).New({});
  } catch (...) {
    data.pending_buffer.reset();  // not adopted (JS refused the call): free the buffer now
    throw;
  }
}

std::shared_ptr<BufferHandle> Buffer::Handle(Napi::Env env) const {
  if (!handle_) {
    throw MakeError(env, Status{kCodeFailedPrecondition, "Buffer",
                                "this buffer was disposed; it can no longer be used"});
  }
  return handle_;
}

Napi::Value Buffer::Type(const Napi::CallbackInfo& info) {
  auto handle = Handle(info.Env());
  PJRT_ARGS(PJRT_Buffer_ElementType, args);
  args.buffer = handle->buffer;
  Status status = PJRT_CALL(handle->client->api(), PJRT_Buffer_ElementType, &args);
  if (!status.ok()) throw MakeError(info.Env(), status);
  return Napi::Number::New(info.Env(), static_cast<int>(args.type));
}

Napi::Value Buffer::Dims(const Napi::CallbackInfo& info) {
  auto handle = Handle(info.Env());
  PJRT_ARGS(PJRT_Buffer_Dimensions, args);
  args.buffer = handle->buffer;
  Status status = PJRT_CALL(handle->client->api(), PJRT_Buffer_Dimensions, &args);
  if (!status.ok()) throw MakeError(info.Env(), status);
  Napi::Array dims = Napi::Array::New(info.Env(), args.num_dims);
  for (size_t i = 0; i < args.num_dims; ++i) dims.Set(i, static_cast<double>(args.dims[i]));
  return dims;
}

Napi::Value Buffer::OnDeviceSize(const Napi::CallbackInfo& info) {
  auto handle = Handle(info.Env());
  PJRT_ARGS(PJRT_Buffer_OnDeviceSizeInBytes, args);
  args.buffer = handle->buffer;
  Status status = PJRT_CALL(handle->client->api(), PJRT_Buffer_OnDeviceSizeInBytes, &args);
  if (!status.ok()) throw MakeError(info.Env(), status);
  return Napi::Number::New(info.Env(), static_cast<double>(args.on_device_size_in_bytes));
}

Napi::Value Buffer::Device(const Napi::CallbackInfo& info) {
  auto handle = Handle(info.Env());
  PJRT_ARGS(PJRT_Buffer_Device, args);
  args.buffer = handle->buffer;
  Status status = PJRT_CALL(handle->client->api(), PJRT_Buffer_Device, &args);
  if (!status.ok()) throw MakeError(info.Env(), status);
  return Napi::Number::New(info.Env(), DeviceIndex(*handle->client, args.device));
}

Napi::Value Buffer::IsDeleted(const Napi::CallbackInfo& info) {
  if (!handle_) return Napi::Boolean::New(info.Env(), true);
  PJRT_ARGS(PJRT_Buffer_IsDeleted, args);
  args.buffer = handle_->buffer;
  Status status = PJRT_CALL(handle_->client->api(), PJRT_Buffer_IsDeleted, &args);
  if (!status.ok()) throw MakeError(info.Env(), status);
  return Napi::Boolean::New(info.Env(), args.is_deleted);
}

Napi::Value Buffer::ToHost(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto handle = Handle(env);
  const PJRT_Api* api = handle->client->api();
  PJRT_ARGS(PJRT_Buffer_IsDeleted, deleted);
  deleted.buffer = handle->buffer;
  Status status = PJRT_CALL(api, PJRT_Buffer_IsDeleted, &deleted);
  if (status.ok() && deleted.is_deleted) {
    throw MakeError(env, Status{kCodeFailedPrecondition, "PJRT_Buffer_ToHostBuffer",
                                "this buffer's device memory was deleted (donated to an execution "
                                "or delete() was called); it can no longer be read"});
  }
  PJRT_ARGS(PJRT_Buffer_ToHostBuffer, size_query);  // dst == nullptr asks for the size
  size_query.src = handle->buffer;
  status = PJRT_CALL(api, PJRT_Buffer_ToHostBuffer, &size_query);
  if (!status.ok()) throw MakeError(env, status);
  const size_t dst_size = size_query.dst_size;
  // Into the caller's typed array (warm memory, no allocation) or a new ArrayBuffer.
  Napi::Value destination;
  void* dst = nullptr;
  if (info.Length() > 0 && info[0].IsTypedArray()) {
    Napi::TypedArray into = info[0].As<Napi::TypedArray>();
    if (into.ByteLength() != dst_size) {
      ThrowTypeError(env, "toHost: the destination has " + std::to_string(into.ByteLength()) +
                              " bytes, the buffer needs " + std::to_string(dst_size));
    }
    dst = static_cast<uint8_t*>(into.ArrayBuffer().Data()) + into.ByteOffset();
    destination = into;
  } else {
    Napi::ArrayBuffer host = Napi::ArrayBuffer::New(env, dst_size);
    dst = host.Data();
    destination = host;
  }
  return PjrtWorker::Start(
      env, "pjrt.toHost",
      [handle, dst, dst_size]() {
        PJRT_ARGS(PJRT_Buffer_ToHostBuffer, args);
        args.src = handle->buffer;
        args.dst = dst;
        args.dst_size = dst_size;
        Status status = PJRT_CALL(handle->client->api(), PJRT_Buffer_ToHostBuffer, &args);
        if (!status.ok()) return status;
        return AwaitAndDestroyEvent(handle->client->api(), args.event);
      },
      [](Napi::Env, const std::vector<Napi::Value>& kept) { return kept[0]; }, {destination});
}

Napi::Value Buffer::Delete(const Napi::CallbackInfo& info) {
  auto handle = Handle(info.Env());
  PJRT_ARGS(PJRT_Buffer_Delete, args);
  args.buffer = handle->buffer;
  Status status = PJRT_CALL(handle->client->api(), PJRT_Buffer_Delete, &args);
  if (!status.ok()) throw MakeError(info.Env(), status);
  return info.Env().Undefined();
}

Napi::Value Buffer::Dispose(const Napi::CallbackInfo& info) {
  handle_.reset();  // destroyed now, or when in-flight work holding it finishes
  return info.Env().Undefined();
}

}  // namespace pjrt
