// The one choke point through which every PJRT C API call passes.
//
// `PJRT_CALL(api, PJRT_Foo, &args)`:
//   1. sets `args.struct_size` to `PJRT_Foo_Args_STRUCT_SIZE` from the header we built with,
//   2. checks that `PJRT_Foo` lies inside this plugin's `PJRT_Api` table (a plugin built
//      against an older API has a shorter table) and is not null,
//   3. calls it and turns a returned `PJRT_Error*` into a `Status` carrying the PJRT error code,
//      the C function's name and the plugin's message, then destroys the error.
//
// A `Status` is plain data, so it can be produced on a worker thread and turned into a JS
// exception later on the main thread (see errors.h).
#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <type_traits>

#include "pjrt_c_api.h"

namespace pjrt {

/// Outcome of one PJRT call. `code == 0` means OK; otherwise `code` is a `PJRT_Error_Code`
/// value, or one of the local codes below for failures detected before PJRT was called.
struct Status {
  int code = 0;
  std::string function;  // C function that failed, e.g. "PJRT_Client_Compile"
  std::string message;

  bool ok() const { return code == 0; }
  static Status Ok() { return {}; }
};

/// PJRT_Error_Code has 0..16; the binding uses UNIMPLEMENTED (12) for a function missing from
/// a plugin's table and FAILED_PRECONDITION (9) for protocol misuse detected locally.
constexpr int kCodeUnimplemented = PJRT_Error_Code_UNIMPLEMENTED;
constexpr int kCodeFailedPrecondition = PJRT_Error_Code_FAILED_PRECONDITION;

/// Name of a PJRT error code ("INVALID_ARGUMENT", ...), as the TS `PjrtError.code` reports it.
const char* ErrorCodeName(int code);

/// Converts and destroys a `PJRT_Error` returned by `function`.
Status TakeError(const PJRT_Api* api, PJRT_Error* error, const char* function);

/// True if `api` provides the function stored at byte `offset` of `PJRT_Api`.
inline bool HasFunction(const PJRT_Api* api, size_t offset) {
  if (offset + sizeof(void*) > api->struct_size) return false;
  void* const* slot = reinterpret_cast<void* const*>(reinterpret_cast<const char*>(api) + offset);
  return *slot != nullptr;
}

template <typename Args>
Status Invoke(const PJRT_Api* api, size_t offset, const char* function, size_t struct_size,
              Args* args) {
  if (!HasFunction(api, offset)) {
    return Status{kCodeUnimplemented, function,
                  std::string(function) + " is not provided by this PJRT plugin (its API " +
                      std::to_string(api->pjrt_api_version.major_version) + "." +
                      std::to_string(api->pjrt_api_version.minor_version) +
                      " table is too short or the entry is null)"};
  }
  using Fn = PJRT_Error* (*)(Args*);
  Fn fn = *reinterpret_cast<const Fn*>(reinterpret_cast<const char*>(api) + offset);
  args->struct_size = struct_size;
  args->extension_start = nullptr;
  PJRT_Error* error = fn(args);
  if (error == nullptr) return Status::Ok();
  return TakeError(api, error, function);
}

}  // namespace pjrt

/// Calls `api->fn(args)` through the choke point; `args` must be a `fn##_Args*`.
#define PJRT_CALL(api, fn, args)                                                             \
  ([&]() {                                                                                   \
    static_assert(std::is_same_v<std::remove_pointer_t<decltype(args)>, fn##_Args>,          \
                  "PJRT_CALL: argument struct does not match " #fn);                         \
    return ::pjrt::Invoke((api), offsetof(PJRT_Api, fn), #fn, fn##_Args_STRUCT_SIZE, (args)); \
  }())

/// Declares a zero-initialized args struct for `fn`.
#define PJRT_ARGS(fn, name) \
  fn##_Args name;           \
  std::memset(&name, 0, sizeof(name))
