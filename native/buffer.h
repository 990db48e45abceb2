// `Buffer`: one PJRT_Buffer on one device.
#pragma once

#include <napi.h>

#include "handles.h"

namespace pjrt {

/// Size in bytes of one element of a PJRT_Buffer_Type, or 0 for types the binding does not move
/// between host and device (sub-byte and complex types).
size_t ElementSize(int type);

/// Owns a PJRT_Buffer; destroys it when the last holder (JS object or in-flight work) lets go.
struct BufferHandle {
  std::shared_ptr<ClientHandle> client;
  PJRT_Buffer* buffer = nullptr;
  ~BufferHandle() { DestroyBuffer(client->api(), buffer); }
};

/// JS class `Buffer`. Getters `type`, `dims`, `onDeviceSizeInBytes`, `device`, `isDeleted`;
/// methods `toHost(into?): Promise<ArrayBuffer | TypedArray>`, `delete()` (frees device memory now) and
/// `dispose()` (releases the handle).
class Buffer : public Napi::ObjectWrap<Buffer> {
 public:
  static Napi::Function Init(Napi::Env env);
  static Napi::Function Constructor(Napi::Env env);
  explicit Buffer(const Napi::CallbackInfo& info);

  /// Wraps a freshly created PJRT_Buffer (taking ownership) in a JS `Buffer`.
  static Napi::Object Wrap(Napi::Env env, std::shared_ptr<ClientHandle> client, PJRT_Buffer* buffer);

  /// The live handle, or throws a FAILED_PRECONDITION PjrtError if disposed.
  std::shared_ptr<BufferHandle> Handle(Napi::Env env) const;

 private:
  Napi::Value Type(const Napi::CallbackInfo& info);
  Napi::Value Dims(const Napi::CallbackInfo& info);
  Napi::Value OnDeviceSize(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value IsDeleted(const Napi::CallbackInfo& info);
  Napi::Value ToHost(const Napi::CallbackInfo& info);
  Napi::Value Delete(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  std::shared_ptr<BufferHandle> handle_;
};

}  // namespace pjrt
