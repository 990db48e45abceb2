#include "pjrt_call.h"

namespace pjrt {

const char* ErrorCodeName(int code) {
  static const char* const kNames[] = {
      "OK",       "CANCELLED",         "UNKNOWN",       "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
      "NOT_FOUND", "ALREADY_EXISTS",   "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",  "UNIMPLEMENTED",    "INTERNAL",
      "UNAVAILABLE", "DATA_LOSS",      "UNAUTHENTICATED"};
  if (code < 0 || code >= static_cast<int>(sizeof(kNames) / sizeof(kNames[0]))) return "UNKNOWN";
  return kNames[code];
}

Status TakeError(const PJRT_Api* api, PJRT_Error* error, const char* function) {
  Status status{PJRT_Error_Code_UNKNOWN, function, "(no message)"};
  // These three calls cannot go through Invoke (it would recurse on failure); their
  // argument structs have not changed since API 0.1.
  if (HasFunction(api, offsetof(PJRT_Api, PJRT_Error_Message))) {
    PJRT_Error_Message_Args message;
    std::memset(&message, 0, sizeof(message));
    message.struct_size = PJRT_Error_Message_Args_STRUCT_SIZE;
    message.error = error;
    api->PJRT_Error_Message(&message);
    if (message.message != nullptr) status.message.assign(message.message, message.message_size);
  }
  if (HasFunction(api, offsetof(PJRT_Api, PJRT_Error_GetCode))) {
    PJRT_Error_GetCode_Args code;
    std::memset(&code, 0, sizeof(code));
    code.struct_size = PJRT_Error_GetCode_Args_STRUCT_SIZE;
    code.error = error;
    if (api->PJRT_Error_GetCode(&code) == nullptr) status.code = static_cast<int>(code.code);
  }
  if (status.code == 0) status.code = PJRT_Error_Code_UNKNOWN;  // an error is never OK
  if (HasFunction(api, offsetof(PJRT_Api, PJRT_Error_Destroy))) {
    PJRT_Error_Destroy_Args destroy;
    std::memset(&destroy, 0, sizeof(destroy));
    destroy.struct_size = PJRT_Error_Destroy_Args_STRUCT_SIZE;
    destroy.error = error;
    api->PJRT_Error_Destroy(&destroy);
  }
  return status;
}

}  // namespace pjrt
