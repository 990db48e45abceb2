// Reference-counted owners of PJRT objects shared between the wrapped JS classes.
//
// A plugin is never unloaded (PJRT plugins do not support dlclose). A client is destroyed when
// the last object that needs it (the JS Client, or any Buffer / Executable made from it) lets
// go: "a buffer keeps its client alive".
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "pjrt_call.h"

namespace pjrt {

/// A loaded plugin: its `PJRT_Api` table and where it came from.
struct PluginHandle {
  const PJRT_Api* api = nullptr;
  void* library = nullptr;
  std::string path;
  /// Set by the first `claimNewerApiWarning()` of the process (plugins are process-wide).
  std::atomic<bool> newer_api_claimed{false};
};

/// An open `PJRT_Client` and its addressable devices, in the plugin's order.
struct ClientHandle {
  std::shared_ptr<PluginHandle> plugin;
  PJRT_Client* client = nullptr;
  std::vector<PJRT_Device*> devices;
  /// True when device memory is host memory (platform "cpu"): uploads go through StagingPool.
  bool stage_host_transfers = false;

  const PJRT_Api* api() const { return plugin->api; }
  ~ClientHandle();
};

/// Index of `device` in `client.devices`, or -1.
int DeviceIndex(const ClientHandle& client, PJRT_Device* device);

/// Blocks the calling thread until `event` is ready, returns its status and destroys it.
/// Safe to call from a worker thread. A null event is OK.
Status AwaitAndDestroyEvent(const PJRT_Api* api, PJRT_Event* event);

/// Destroys a buffer, ignoring errors (used by finalizers and cleanup paths).
void DestroyBuffer(const PJRT_Api* api, PJRT_Buffer* buffer);

}  // namespace pjrt
