#include "handles.h"

namespace pjrt {

ClientHandle::~ClientHandle() {
  if (client == nullptr) return;
  PJRT_ARGS(PJRT_Client_Destroy, args);
  args.client = client;
  PJRT_CALL(api(), PJRT_Client_Destroy, &args);  // nothing useful to do with a failure here
  client = nullptr;
}

int DeviceIndex(const ClientHandle& client, PJRT_Device* device) {
  for (size_t i = 0; i < client.devices.size(); ++i) {
    if (client.devices[i] == device) return static_cast<int>(i);
  }
  return -1;
}

Status AwaitAndDestroyEvent(const PJRT_Api* api, PJRT_Event* event) {
  if (event == nullptr) return Status::Ok();
  PJRT_ARGS(PJRT_Event_Await, await);
  await.event = event;
  Status status = PJRT_CALL(api, PJRT_Event_Await, &await);
  PJRT_ARGS(PJRT_Event_Destroy, destroy);
  destroy.event = event;
  PJRT_CALL(api, PJRT_Event_Destroy, &destroy);
  return status;
}

void DestroyBuffer(const PJRT_Api* api, PJRT_Buffer* buffer) {
  if (buffer == nullptr) return;
  PJRT_ARGS(PJRT_Buffer_Destroy, args);
  args.buffer = buffer;
  PJRT_CALL(api, PJRT_Buffer_Destroy, &args);
}

}  // namespace pjrt
